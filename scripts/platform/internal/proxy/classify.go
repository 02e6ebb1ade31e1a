package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"

	"golang.org/x/net/http2"
)

// Classify names a network error the way ground truth and logs do:
// reset, refused, eof, timeout, canceled or other. An HTTP/2 stream reset (RST_STREAM) by the
// upstream is a reset too: the stream's counterpart of a connection reset.
func Classify(err error) string {
	var ne net.Error
	var se http2.StreamError
	switch {
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.As(err, &se):
		return "reset"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return "other"
}
