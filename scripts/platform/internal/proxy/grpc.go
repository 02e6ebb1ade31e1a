package proxy

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http2"
)

// IsGRPC tells a gRPC request (content-type application/grpc, application/grpc+proto, ...).
func IsGRPC(h http.Header) bool {
	return strings.HasPrefix(h.Get("Content-Type"), "application/grpc")
}

// GRPCCode is the gRPC status a client library makes of an HTTP status when a response has no
// grpc-status (grpc's doc/http-grpc-status-mapping.md), so a hop that answers a gRPC request
// itself says what the client would have concluded anyway.
func GRPCCode(httpStatus int) int {
	switch httpStatus {
	case http.StatusBadRequest:
		return 13 // INTERNAL
	case http.StatusUnauthorized:
		return 16 // UNAUTHENTICATED
	case http.StatusForbidden:
		return 7 // PERMISSION_DENIED
	case http.StatusNotFound:
		return 12 // UNIMPLEMENTED
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return 14 // UNAVAILABLE
	}
	return 2 // UNKNOWN
}

// Fail answers a request this hop will not forward: as http.Error does, or for a gRPC request
// as a gRPC error, a trailers-only response (HTTP 200, grpc-status and grpc-message in the one
// HEADERS frame, which ends the stream).
func Fail(w http.ResponseWriter, r *http.Request, msg string, httpStatus int) {
	if !IsGRPC(r.Header) {
		http.Error(w, msg, httpStatus)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/grpc")
	h.Set("Grpc-Status", strconv.Itoa(GRPCCode(httpStatus)))
	h.Set("Grpc-Message", grpcMessage(msg))
	w.WriteHeader(http.StatusOK)
}

// grpcMessage percent-encodes what gRPC's grpc-message field does not allow as is.
func grpcMessage(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '%' {
			b.WriteString("%" + strings.ToUpper(strconv.FormatUint(uint64(c)|0x100, 16)[1:]))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// NewH2CTransport is the upstream transport for HTTP/2 requests: cleartext HTTP/2 with prior
// knowledge (h2c), the way Knative's activator and queue-proxy reach a gRPC function. One
// connection per upstream carries every stream.
func NewH2CTransport() *http2.Transport {
	d := &net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}
	return &http2.Transport{
		AllowHTTP:          true,
		DisableCompression: true,
		ReadIdleTimeout:    30 * time.Second,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			return d.DialContext(ctx, network, addr) // "TLS" dial of an http:// URL: plain TCP
		},
	}
}
