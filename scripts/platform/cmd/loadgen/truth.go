package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"
	"time"
)

// truth is one ground-truth line: what the client sent and saw. Times are the client's
// wall clock in Unix nanoseconds.
type truth struct {
	Seq          int           `json:"seq"`
	Shape        string        `json:"shape"`
	TraceID      *string       `json:"trace_id"`       // null without trace headers
	ParentSpanID *string       `json:"parent_span_id"` // the client's span id in traceparent
	Target       string        `json:"target"`
	Function     string        `json:"function"`
	Path         string        `json:"path"`
	Async        bool          `json:"async"`
	Hops         []string      `json:"hops"` // comm names in path order
	StartNs      int64         `json:"start_ns"`
	EndNs        int64         `json:"end_ns"`
	Status       int           `json:"status"` // 0 when no response
	Error        *string       `json:"error"`  // reset, eof, timeout, refused, other, not_sent
	Anomaly      *truthAnomaly `json:"anomaly"`
	ExpectStatus int           `json:"expect_status"`
	// gRPC requests only: the grpc-status the call ended with (null when it got none: a
	// connection or stream error) and the one it should have.
	GRPCStatus        *int   `json:"grpc_status,omitempty"`
	ExpectGRPCStatus  *int   `json:"expect_grpc_status,omitempty"`
	GRPC              bool   `json:"grpc,omitempty"`
	AsyncID           string `json:"async_id,omitempty"`
	AsyncParentSpanID string `json:"async_parent_span_id,omitempty"` // from traceresponse
	// The trace the platform named in its answer's traceresponse: the one the ingress started
	// for a request without trace headers (or, async, the activator's).
	ResponseTraceID string `json:"response_trace_id,omitempty"`
	// The local port of the connection the request went out on: with no trace header
	// anywhere, the one ingress span of the request is the one with this client port in its
	// time (two requests to one path overlap often; on one connection they cannot).
	ClientPort int `json:"client_port,omitempty"`
}

type truthAnomaly struct {
	Hop      string `json:"hop"`
	Kind     string `json:"kind"`
	AmountMs int64  `json:"amount_ms"`
	Header   string `json:"header"`
}

// recorder writes truth lines as requests finish and tallies the summary.
type recorder struct {
	mu  sync.Mutex
	f   *os.File
	w   *bufio.Writer
	enc *json.Encoder
	s   summary
	lat []float64 // ms, every answered request
	ok  []float64 // ms, answered as expected without an anomaly
}

// summary is what the run did, printed at the end and optionally written as JSON.
type summary struct {
	Planned    int            `json:"planned"`
	Sent       int            `json:"sent"`
	NotSent    int            `json:"not_sent"`
	OK         int            `json:"ok"` // 2xx
	Status     map[string]int `json:"status"`
	GRPCStatus map[string]int `json:"grpc_status"` // of gRPC requests, "none" without one
	Errors     map[string]int `json:"errors"`
	Injected   map[string]int `json:"injected"` // by hop=kind
	Unexpected int            `json:"unexpected"`
	Examples   []string       `json:"unexpected_examples"`
	P50ms      float64        `json:"p50_ms"`
	P90ms      float64        `json:"p90_ms"`
	P99ms      float64        `json:"p99_ms"`
	MaxMs      float64        `json:"max_ms"`
	CleanP50ms float64        `json:"clean_p50_ms"`
	CleanP99ms float64        `json:"clean_p99_ms"`
	Seconds    float64        `json:"seconds"`
	started    time.Time
}

func newRecorder(path string) (*recorder, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("ground truth: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<16)
	return &recorder{f: f, w: w, enc: json.NewEncoder(w), s: summary{Status: map[string]int{}, GRPCStatus: map[string]int{},
		Errors: map[string]int{}, Injected: map[string]int{}, started: time.Now()}}, nil
}

func (r *recorder) add(t *truth) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.enc.Encode(t)
	s := &r.s
	s.Planned++
	if t.Error != nil && *t.Error == "not_sent" {
		s.NotSent++
		return
	}
	s.Sent++
	if t.Anomaly != nil {
		s.Injected[t.Anomaly.Hop+"="+t.Anomaly.Kind]++
	}
	if t.GRPC {
		k := "none"
		if t.GRPCStatus != nil {
			k = fmt.Sprint(*t.GRPCStatus)
		}
		s.GRPCStatus[k]++
	}
	if t.Error != nil {
		s.Errors[*t.Error]++
	} else {
		s.Status[fmt.Sprint(t.Status)]++
		if t.Status/100 == 2 && (!t.GRPC || t.GRPCStatus != nil && *t.GRPCStatus == grpcOK) {
			s.OK++
		}
		ms := float64(t.EndNs-t.StartNs) / 1e6
		r.lat = append(r.lat, ms)
		if t.Anomaly == nil && t.asExpected() {
			r.ok = append(r.ok, ms)
		}
	}
	if t.Error != nil || !t.asExpected() {
		s.Unexpected++
		if len(s.Examples) < 5 {
			line, _ := json.Marshal(t)
			s.Examples = append(s.Examples, string(line))
		}
	}
}

// asExpected: the status (and for gRPC the grpc-status) the anomaly, if any, explains.
func (t *truth) asExpected() bool {
	if t.Status != t.ExpectStatus {
		return false
	}
	if t.ExpectGRPCStatus == nil {
		return true
	}
	return t.GRPCStatus != nil && *t.GRPCStatus == *t.ExpectGRPCStatus
}

func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[int(q*float64(len(sorted)-1)+0.5)]
}

func (r *recorder) close() summary {
	r.w.Flush()
	r.f.Close()
	sort.Float64s(r.lat)
	sort.Float64s(r.ok)
	s := r.s
	s.P50ms, s.P90ms, s.P99ms = quantile(r.lat, .5), quantile(r.lat, .9), quantile(r.lat, .99)
	s.MaxMs = quantile(r.lat, 1)
	s.CleanP50ms, s.CleanP99ms = quantile(r.ok, .5), quantile(r.ok, .99)
	s.Seconds = time.Since(s.started).Seconds()
	return s
}

func (s summary) print(w io.Writer) {
	fmt.Fprintf(w, "sent %d (not sent: %d) in %.1fs, ok %d, status %v, errors %v\n",
		s.Sent, s.NotSent, s.Seconds, s.OK, s.Status, s.Errors)
	if len(s.GRPCStatus) > 0 {
		fmt.Fprintf(w, "gRPC calls by grpc-status: %v\n", s.GRPCStatus)
	}
	n := 0
	for _, v := range s.Injected {
		n += v
	}
	fmt.Fprintf(w, "injected %d: %v\n", n, s.Injected)
	fmt.Fprintf(w, "latency ms: p50 %.1f  p90 %.1f  p99 %.1f  max %.1f  (no anomaly: p50 %.1f  p99 %.1f)\n",
		s.P50ms, s.P90ms, s.P99ms, s.MaxMs, s.CleanP50ms, s.CleanP99ms)
	fmt.Fprintf(w, "unexpected (not explained by an injected anomaly): %d\n", s.Unexpected)
	for _, e := range s.Examples {
		fmt.Fprintf(w, "  e.g. %s\n", e)
	}
}

func (s summary) writeJSON(path string) error {
	b, _ := json.MarshalIndent(s, "", "  ")
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	return nil
}
