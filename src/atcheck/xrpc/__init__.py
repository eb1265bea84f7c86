"""A small XRPC client that records every exchange as evidence for the report."""

from atcheck.xrpc.client import EvidenceRecorder, XrpcClient, XrpcResponse

__all__ = ["EvidenceRecorder", "XrpcClient", "XrpcResponse"]
