package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"net/http"
	"strconv"
)

// grpcRequest is one unary gRPC call of demo.Echo on the wire (gRPC over HTTP/2, the
// PROTOCOL-HTTP2 spec): POST, content-type application/grpc, te: trailers, and one
// length-prefixed message (not compressed) of raw bytes, as fn-grpc's generic handler takes
// them. The authority names the function, which is how the activator routes it.
func grpcRequest(ctx context.Context, url, function string) *http.Request {
	msg := []byte("hello")
	body := make([]byte, 5+len(msg))
	binary.BigEndian.PutUint32(body[1:5], uint32(len(msg)))
	copy(body[5:], msg)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	req.Host = function
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("Te", "trailers")
	return req
}

// mergeTrailers gives the call's metadata in one header set: a trailers-only response carries
// grpc-status in its headers, any other in its trailers (read once the body is).
func mergeTrailers(resp *http.Response) http.Header {
	h := resp.Header.Clone()
	for k, v := range resp.Trailer {
		h[k] = v
	}
	return h
}

// grpcStatus is the call's grpc-status, or nil when the answer had none.
func grpcStatus(h http.Header) *int {
	v := h.Get("Grpc-Status")
	n, err := strconv.Atoi(v)
	if v == "" || err != nil {
		return nil
	}
	return &n
}
