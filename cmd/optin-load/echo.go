package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// echo is the baseline: an HTTP server in this process that reads the body
// and answers a fixed JSON document, measured with the same load as optin so
// that optin's numbers can be read as ratios on a machine whose speed varies.
type echo struct {
	URL string // http://127.0.0.1:PORT
	srv *http.Server
}

// startEcho listens on a free loopback port and answers every request with
// 200 and body.
func startEcho(body []byte) (*echo, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	length := strconv.Itoa(len(body))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, 1<<20))
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", length)
		w.Write(body)
	})
	// The same timeouts as optin's server, so that both do the same work
	// per connection.
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			ln.Close()
		}
	}()
	return &echo{URL: "http://" + ln.Addr().String(), srv: srv}, nil
}

// Close stops the server, waiting at most a few seconds for connections.
func (e *echo) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return e.srv.Shutdown(ctx)
}
