// loadgen is the demo platform's open-loop load generator. It sends requests on a schedule
// drawn from a workload shape (steady, fluctuating, spikes, jump, or a CSV of second,rate),
// whether or not earlier ones have answered, with bounded concurrency and bounded total
// time, to loopback only. Some requests carry an injected anomaly (X-Difftrace-Inject), and
// every request becomes one ground-truth JSON line. See docs/platform.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"difftrace/platform/internal/inject"
	"difftrace/platform/internal/proxy"
	"difftrace/platform/internal/tracectx"
)

type config struct {
	url, shape, label, mix, anomalies, out, summary, arrivals string
	shapeParams
	duration, timeout             time.Duration
	requests, maxInflight         int
	anomalyRate                   float64
	noTrace, b3, strict, progress bool
	seed                          int64
}

func parseFlags() config {
	var c config
	flag.StringVar(&c.url, "url", "http://127.0.0.1:8080", "ingress URL (loopback only)")
	flag.StringVar(&c.shape, "shape", "steady", "steady | fluctuating | spikes | jump | csv:FILE (rows second,rate)")
	flag.StringVar(&c.label, "label", "", "shape label written to ground truth (default: the shape)")
	flag.Float64Var(&c.base, "rate", 50, "base rate, requests/s")
	flag.DurationVar(&c.duration, "duration", 30*time.Second, "how long to send")
	flag.IntVar(&c.requests, "requests", 0, "send exactly this many, scaling the shape's rate (0: as the rate says)")
	flag.StringVar(&c.arrivals, "arrivals", "uniform", "uniform (evenly spaced along the rate) | poisson")
	flag.DurationVar(&c.period, "period", 30*time.Second, "fluctuating: sine period")
	flag.Float64Var(&c.spikeFactor, "spike-factor", 4, "spikes: rate during a spike, times base")
	flag.DurationVar(&c.spikeEvery, "spike-every", 10*time.Second, "spikes: period")
	flag.DurationVar(&c.spikeWidth, "spike-width", time.Second, "spikes: length of a spike")
	flag.Float64Var(&c.jumpFactor, "jump-factor", 2, "jump: rate after the jump, times base")
	flag.Float64Var(&c.jumpAt, "jump-at", 0.5, "jump: when, as a fraction of duration")
	flag.StringVar(&c.mix, "mix", defaultMix, "targets and weights")
	flag.Float64Var(&c.anomalyRate, "anomaly-rate", 0.02, "fraction of requests with an injected anomaly")
	flag.StringVar(&c.anomalies, "anomalies", defaultAnomalies, "anomaly mix: X-Difftrace-Inject entries, drawn uniformly")
	flag.BoolVar(&c.noTrace, "no-trace-header", false, "send no traceparent or B3 header at all")
	flag.BoolVar(&c.b3, "b3", false, "send a B3 single header as well as traceparent")
	flag.StringVar(&c.out, "out", "groundtruth.jsonl", "ground-truth JSON-lines file")
	flag.StringVar(&c.summary, "summary", "", "also write the summary as JSON here")
	flag.IntVar(&c.maxInflight, "max-inflight", 512, "requests in flight at most; a request due when full is not sent (and recorded so)")
	flag.DurationVar(&c.timeout, "timeout", 10*time.Second, "per-request timeout")
	flag.Int64Var(&c.seed, "seed", 1, "random seed (targets, anomalies, fluctuation)")
	flag.BoolVar(&c.strict, "strict", false, "exit 3 if any request failed in a way no injected anomaly explains")
	flag.BoolVar(&c.progress, "progress", false, "print a line every 10 s")
	flag.Parse()
	if c.label == "" {
		c.label = c.shape
	}
	return c
}

// requireLoopback refuses any target but this machine.
func requireLoopback(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Hostname() == "" {
		return nil, fmt.Errorf("--url %q: want http://127.0.0.1:PORT", raw)
	}
	host := u.Hostname()
	if host == "localhost" {
		return u, nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("--url %q: only loopback addresses (127.0.0.0/8, ::1, localhost) are allowed", raw)
	}
	return u, nil
}

func main() {
	log.SetFlags(0)
	c := parseFlags()
	base, err := requireLoopback(c.url)
	if err != nil {
		log.Fatalf("loadgen: %v", err)
	}
	mix, err := parseMix(c.mix)
	if err != nil {
		log.Fatalf("loadgen: --mix: %v", err)
	}
	anomalies, err := inject.Parse(c.anomalies)
	if err != nil {
		log.Fatalf("loadgen: --anomalies: %v", err)
	}
	rng := rand.New(rand.NewSource(c.seed))
	shape, err := makeShape(c.shape, c.shapeParams, c.duration, c.seed)
	if err != nil {
		log.Fatalf("loadgen: %v", err)
	}
	times := schedule(shape, c.duration, c.requests, c.arrivals == "poisson", rng)
	reqs, err := plan(times, mix, anomalies, c.anomalyRate, rng)
	if err != nil {
		log.Fatalf("loadgen: %v", err)
	}
	for i := range reqs {
		if !c.noTrace {
			reqs[i].traceID, reqs[i].spanID = tracectx.NewID(16), tracectx.NewID(8)
		}
	}
	rec, err := newRecorder(c.out)
	if err != nil {
		log.Fatalf("loadgen: %v", err)
	}
	rate := fmt.Sprintf("base %.0f/s", c.base)
	if strings.HasPrefix(c.shape, "csv:") {
		rate = "rates from the CSV"
	}
	log.Printf("loadgen: %s, %s for %s: %d requests to %s, %.1f%% with anomalies, truth -> %s",
		c.label, rate, c.duration, len(reqs), base, 100*c.anomalyRate, c.out)
	run(c, base, reqs, rec)
	s := rec.close()
	s.print(os.Stdout)
	if c.summary != "" {
		if err := s.writeJSON(c.summary); err != nil {
			log.Fatalf("loadgen: %v", err)
		}
	}
	if c.strict && (s.Unexpected > 0 || s.NotSent > 0) {
		os.Exit(3)
	}
}

// run sends every request at its time: open loop, at most maxInflight at once, and waits
// at most one timeout past the last send.
func run(c config, base *url.URL, reqs []request, rec *recorder) {
	client := &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		MaxIdleConnsPerHost: c.maxInflight,
		IdleConnTimeout:     30 * time.Second, // below haproxy's keep-alive timeout
		DisableCompression:  true,
	}}
	// gRPC calls share one h2c connection to the ingress, as a gRPC channel does.
	grpcClient := &http.Client{Transport: proxy.NewH2CTransport()}
	var inflight atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	lastReport := time.Duration(0)
	for i := range reqs {
		r := &reqs[i]
		if d := time.Until(start.Add(r.at)); d > 0 {
			time.Sleep(d)
		}
		if c.progress && r.at-lastReport >= 10*time.Second {
			lastReport = r.at
			log.Printf("loadgen: t=%3.0fs sent %d, in flight %d", r.at.Seconds(), i, inflight.Load())
		}
		if inflight.Load() >= int64(c.maxInflight) {
			rec.add(record(c, r, 0, 0, 0, "not_sent", nil))
			continue
		}
		inflight.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer inflight.Add(-1)
			if r.target.grpc {
				rec.add(send(c, grpcClient, base, r))
			} else {
				rec.add(send(c, client, base, r))
			}
		}()
	}
	wg.Wait()
}

func send(c config, client *http.Client, base *url.URL, r *request) *truth {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	u := *base
	u.Path = r.target.path
	clientPort := 0
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(ci httptrace.GotConnInfo) {
		if a, ok := ci.Conn.LocalAddr().(*net.TCPAddr); ok {
			clientPort = a.Port
		}
	}})
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if r.target.grpc {
		req = grpcRequest(ctx, u.String(), r.target.function)
	}
	if r.traceID != "" {
		// Lower-case keys set directly go on the wire as written, as W3C spells them.
		req.Header["traceparent"] = []string{"00-" + r.traceID + "-" + r.spanID + "-01"}
		if c.b3 {
			req.Header["b3"] = []string{r.traceID + "-" + r.spanID + "-1"}
		}
	}
	if r.anomaly != nil {
		req.Header.Set(inject.Header, r.anomaly.String())
	}
	if r.target.async {
		req.Header.Set("Prefer", "respond-async")
	}
	startNs := time.Now().UnixNano()
	resp, err := client.Do(req)
	status, errKind := 0, ""
	var hdr http.Header
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		status, hdr = resp.StatusCode, resp.Header
		if r.target.grpc && err == nil {
			hdr = mergeTrailers(resp)
		}
	}
	if err != nil {
		errKind = proxy.Classify(err)
	}
	t := record(c, r, startNs, time.Now().UnixNano(), status, errKind, hdr)
	t.ClientPort = clientPort
	return t
}

func record(c config, r *request, startNs, endNs int64, status int, errKind string, hdr http.Header) *truth {
	t := &truth{Seq: r.seq, Shape: c.label, Target: r.target.name, Function: r.target.function,
		Path: r.target.path, Async: r.target.async, Hops: expectedHops(r.target, r.anomaly),
		StartNs: startNs, EndNs: endNs, Status: status}
	if r.traceID != "" {
		t.TraceID, t.ParentSpanID = &r.traceID, &r.spanID
	}
	if errKind != "" {
		t.Error = &errKind
	}
	if r.anomaly != nil {
		t.Anomaly = &truthAnomaly{Hop: r.anomaly.Hop, Kind: r.anomaly.Kind,
			AmountMs: r.anomaly.Amount.Milliseconds(), Header: r.anomaly.String()}
	}
	t.ExpectStatus, _ = expected(r.target, r.anomaly)
	if r.target.grpc {
		want := expectedGRPC(r.anomaly)
		t.GRPC, t.ExpectGRPCStatus = true, &want
		if hdr != nil {
			t.GRPCStatus = grpcStatus(hdr)
		}
	}
	if hdr != nil {
		tp, ok := tracectx.Parse(strings.TrimSpace(hdr.Get("traceresponse")))
		if ok {
			t.ResponseTraceID = tp.TraceID
		}
		if r.target.async {
			t.AsyncID = hdr.Get("X-Difftrace-Async-Id")
			if ok {
				t.AsyncParentSpanID = tp.ParentID
			}
		}
	}
	return t
}
