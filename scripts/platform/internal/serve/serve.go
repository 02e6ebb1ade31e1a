// Package serve runs an HTTP server the way every platform process does: listen first (so a
// busy port fails at once, naming the port), serve HTTP/1.1 with keep-alive and cleartext
// HTTP/2 (h2c, prior knowledge, as gRPC clients and haproxy's "proto h2" speak it) on the
// same port, and on SIGTERM or SIGINT stop accepting and finish in-flight requests for up
// to 3 s.
package serve

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
)

// Run serves h on addr until a stop signal; onStop (may be nil) runs after the server stopped.
func Run(name, addr string, h http.Handler, onStop func()) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s: cannot listen on %s: %w (is the port in use? pick another with the port flag)", name, addr, err)
	}
	srv := &http.Server{
		// h2c.NewHandler passes HTTP/1 requests to h untouched and serves a connection that
		// opens with the HTTP/2 preface as HTTP/2.
		Handler:           h2c.NewHandler(h, &http2.Server{IdleTimeout: 120 * time.Second}),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second, // longer than every client's idle timeout, so clients close first
		ErrorLog:          log.Default(),
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	log.Printf("%s: listening on %s (pid %d)", name, addr, os.Getpid())
	select {
	case err := <-done:
		return err
	case sig := <-stop:
		log.Printf("%s: %v, draining", name, sig)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	err = srv.Shutdown(ctx)
	if onStop != nil {
		onStop()
	}
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}
