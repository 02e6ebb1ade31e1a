package main

import (
	"fmt"
	"math"
	"math/rand"
	"sort"
	"strconv"
	"strings"
	"time"

	"difftrace/platform/internal/inject"
)

// target is one kind of request the generator sends, and the hops (process comm names) it
// passes in order. fn-chain calls fn-hello back through the ingress; an async request
// passes haproxy and the activator before the 202 and its queue-proxy and function after;
// a gRPC request (path /service/method) goes over h2c, its authority naming the function.
type target struct {
	name, path, function string
	async                bool
	hops                 []string
	grpc                 bool
}

var platformHops = []string{"haproxy", "activator", "queue-proxy"}

func via(fns ...string) []string {
	var out []string
	for _, f := range fns {
		out = append(append(out, platformHops...), f)
	}
	return out
}

var targets = map[string]target{
	"hello":    {"hello", "/fn-hello/", "fn-hello", false, via("fn-hello"), false},
	"work-cpu": {"work-cpu", "/fn-work/cpu", "fn-work", false, via("fn-work"), false},
	"work-mem": {"work-mem", "/fn-work/mem", "fn-work", false, via("fn-work"), false},
	"chain":    {"chain", "/fn-chain/", "fn-chain", false, via("fn-chain", "fn-hello"), false},
	"async":    {"async", "/fn-async/", "fn-async", true, via("fn-async"), false},
	"grpc":     {"grpc", "/demo.Echo/Unary", "fn-grpc", false, via("fn-grpc"), true},
}

const defaultMix = "hello=36,work-cpu=22,work-mem=3,chain=18,async=11,grpc=10"

// Every hop and kind the platform implements; amounts are long enough to stand out of
// normal latency by an order of magnitude.
const defaultAnomalies = "haproxy=stall:100ms,haproxy=503," +
	"activator=stall:200ms,activator=queue:150ms,activator=503," +
	"queue-proxy=stall:150ms,queue-proxy=queue:150ms,queue-proxy=503," +
	"fn-hello=slow:150ms,fn-hello=500,fn-hello=reset," +
	"fn-work=slow:150ms,fn-work=500,fn-work=reset," +
	"fn-chain=slow:150ms,fn-chain=500,fn-async=slow:150ms,fn-async=500," +
	"fn-grpc=slow:150ms,fn-grpc=500,fn-grpc=reset"

type weighted struct {
	t target
	w float64
}

func parseMix(s string) ([]weighted, error) {
	var out []weighted
	for _, part := range strings.Split(s, ",") {
		name, w, ok := strings.Cut(strings.TrimSpace(part), "=")
		t, known := targets[name]
		weight, err := strconv.ParseFloat(w, 64)
		if !ok || !known || err != nil || weight < 0 {
			names := make([]string, 0, len(targets))
			for n := range targets {
				names = append(names, n)
			}
			sort.Strings(names)
			return nil, fmt.Errorf("mix entry %q: want target=weight with target one of %s", part, strings.Join(names, ", "))
		}
		if weight > 0 {
			out = append(out, weighted{t, weight})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("mix %q has no target with weight > 0", s)
	}
	return out, nil
}

func pick(ws []weighted, rng *rand.Rand) target {
	sum := 0.0
	for _, w := range ws {
		sum += w.w
	}
	x := rng.Float64() * sum
	for _, w := range ws {
		if x -= w.w; x < 0 {
			return w.t
		}
	}
	return ws[len(ws)-1].t
}

func contains(hops []string, hop string) bool {
	for _, h := range hops {
		if h == hop {
			return true
		}
	}
	return false
}

// request is one planned request.
type request struct {
	seq     int
	at      time.Duration
	target  target
	anomaly *inject.Anomaly
	traceID string // "" with --no-trace-header
	spanID  string
}

// plan assigns targets and anomalies to send times: exactly round(n*rate) requests carry an
// anomaly, each drawn from the anomaly mix and sent to a target whose path has that hop.
func plan(times []time.Duration, mix []weighted, anomalies []inject.Anomaly, rate float64, rng *rand.Rand) ([]request, error) {
	reqs := make([]request, len(times))
	for i, at := range times {
		reqs[i] = request{seq: i, at: at, target: pick(mix, rng)}
	}
	k := int(math.Round(float64(len(times)) * rate))
	if k == 0 || len(anomalies) == 0 {
		return reqs, nil
	}
	for _, i := range rng.Perm(len(reqs))[:k] {
		a := anomalies[rng.Intn(len(anomalies))]
		var fit []weighted
		for _, w := range mix {
			if contains(w.t.hops, a.Hop) {
				fit = append(fit, w)
			}
		}
		if len(fit) == 0 {
			return nil, fmt.Errorf("anomaly %s: no target in the mix passes hop %s", a, a.Hop)
		}
		reqs[i].target = pick(fit, rng)
		reqs[i].anomaly = &a
	}
	return reqs, nil
}

// expected says what the client should see: the status, and how much extra latency the
// anomaly must add (0 when it happens after an async request was answered).
func expected(t target, a *inject.Anomaly) (status int, minExtra time.Duration) {
	ok := 200
	if t.async {
		ok = 202
	}
	if a == nil {
		return ok, 0
	}
	if t.grpc { // every hop answers a gRPC request with HTTP 200; its grpc-status tells
		return ok, a.Amount
	}
	// Hops after the activator run after the 202 of an async request: invisible to the client.
	if t.async && a.Hop != "haproxy" && a.Hop != "activator" {
		return 202, 0
	}
	switch a.Kind {
	case inject.Unavailable:
		return 503, 0
	case inject.Fail:
		if a.Hop == t.function {
			return 500, 0
		}
		return 502, 0 // a called function failed: the caller answers 502
	case inject.Reset:
		return 502, 0 // the queue-proxy in front of the function answers 502
	}
	return ok, a.Amount
}

// gRPC status codes the platform answers with (expectedGRPC).
const (
	grpcOK          = 0
	grpcCancelled   = 1
	grpcInternal    = 13
	grpcUnavailable = 14
)

// expectedGRPC is the grpc-status a gRPC request should end with: UNAVAILABLE from a
// platform hop's 503 (gRPC's mapping of HTTP 503), INTERNAL from the function's "500",
// CANCELLED from its "reset" (grpcio cancels the stream).
func expectedGRPC(a *inject.Anomaly) int {
	if a == nil {
		return grpcOK
	}
	switch a.Kind {
	case inject.Unavailable:
		return grpcUnavailable
	case inject.Fail:
		return grpcInternal
	case inject.Reset:
		return grpcCancelled
	}
	return grpcOK
}

// expectedHops is the path a request really takes: it ends at the hop that answers an
// injected error itself.
func expectedHops(t target, a *inject.Anomaly) []string {
	if a == nil || !inject.Terminal(a.Kind) {
		return t.hops
	}
	for i, h := range t.hops {
		if h == a.Hop {
			return t.hops[:i+1]
		}
	}
	return t.hops
}
