// The demo.Echo gRPC service of tests/e2e/tools/grpc_calls.py, served by grpc-go (Debian's
// golang-google-grpc-dev) over cleartext HTTP/2, for tests/e2e/test_trace_grpc.py: the same
// methods (Unary, Stream, Missing, Down, Slow, ClientStream, Bidi, Cancel) on raw bytes, so that the Python client of
// grpc_live.py calls it unchanged.
//
//	go-grpc-server PORT
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// rawCodec passes messages through as bytes: no generated code, as grpc_calls.py does.
type rawCodec struct{}

func (rawCodec) Marshal(v interface{}) ([]byte, error) { return *v.(*[]byte), nil }

func (rawCodec) Unmarshal(data []byte, v interface{}) error {
	*v.(*[]byte) = append([]byte(nil), data...)
	return nil
}

func (rawCodec) String() string { return "raw" }

func unary(_ interface{}, _ context.Context, dec func(interface{}) error,
	_ grpc.UnaryServerInterceptor) (interface{}, error) {
	var in []byte
	if err := dec(&in); err != nil {
		return nil, err
	}
	return &in, nil
}

// A unary handler (grpc.MethodDesc.Handler's type; grpc-go 1.33 does not name it).
type unaryHandler = func(srv interface{}, ctx context.Context, dec func(interface{}) error,
	i grpc.UnaryServerInterceptor) (interface{}, error)

func failing(code codes.Code, msg string) unaryHandler {
	return func(_ interface{}, _ context.Context, dec func(interface{}) error,
		_ grpc.UnaryServerInterceptor) (interface{}, error) {
		var in []byte
		if err := dec(&in); err != nil {
			return nil, err
		}
		return nil, status.Error(code, msg)
	}
}

func slow(srv interface{}, ctx context.Context, dec func(interface{}) error,
	i grpc.UnaryServerInterceptor) (interface{}, error) {
	time.Sleep(200 * time.Millisecond)
	return unary(srv, ctx, dec, i)
}

func stream(_ interface{}, ss grpc.ServerStream) error {
	var in []byte
	if err := ss.RecvMsg(&in); err != nil {
		return err
	}
	for i := 0; i < 3; i++ {
		out := append(append([]byte(nil), in...), byte(i))
		if err := ss.SendMsg(&out); err != nil {
			return err
		}
	}
	return nil
}

func clientStream(_ interface{}, ss grpc.ServerStream) error {
	var all []byte
	for {
		var in []byte
		if err := ss.RecvMsg(&in); err == io.EOF {
			return ss.SendMsg(&all)
		} else if err != nil {
			return err
		}
		all = append(all, in...)
	}
}

func bidi(_ interface{}, ss grpc.ServerStream) error {
	for {
		var in []byte
		if err := ss.RecvMsg(&in); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		if err := ss.SendMsg(&in); err != nil {
			return err
		}
	}
}

// One message, then nothing until the client cancels (at most 5 s).
func cancelled(_ interface{}, ss grpc.ServerStream) error {
	var in []byte
	if err := ss.RecvMsg(&in); err != nil {
		return err
	}
	if err := ss.SendMsg(&in); err != nil {
		return err
	}
	select {
	case <-ss.Context().Done():
		return ss.Context().Err()
	case <-time.After(5 * time.Second):
		return nil
	}
}

var echo = grpc.ServiceDesc{
	ServiceName: "demo.Echo",
	HandlerType: (*interface{})(nil),
	Methods: []grpc.MethodDesc{
		{MethodName: "Unary", Handler: unary},
		{MethodName: "Missing", Handler: failing(codes.NotFound, "no such thing")},
		{MethodName: "Down", Handler: failing(codes.Unavailable, "try later")},
		{MethodName: "Slow", Handler: slow},
	},
	Streams: []grpc.StreamDesc{
		{StreamName: "Stream", Handler: stream, ServerStreams: true},
		{StreamName: "ClientStream", Handler: clientStream, ClientStreams: true},
		{StreamName: "Bidi", Handler: bidi, ServerStreams: true, ClientStreams: true},
		{StreamName: "Cancel", Handler: cancelled, ServerStreams: true},
	},
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go-grpc-server PORT")
		os.Exit(2)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:"+os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-grpc-server:", err)
		os.Exit(1)
	}
	s := grpc.NewServer(grpc.CustomCodec(rawCodec{}))
	s.RegisterService(&echo, struct{}{})
	fmt.Println("serving")
	if err := s.Serve(lis); err != nil {
		fmt.Fprintln(os.Stderr, "go-grpc-server:", err)
		os.Exit(1)
	}
}
