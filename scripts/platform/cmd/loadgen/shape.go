package main

import (
	"encoding/csv"
	"fmt"
	"math"
	"math/rand"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// rateFunc is the offered load in requests per second at t seconds into the run.
type rateFunc func(t float64) float64

// shapeParams are the knobs of the built-in ServiTrace shapes.
type shapeParams struct {
	base        float64       // req/s
	period      time.Duration // fluctuating: one sine cycle
	spikeFactor float64       // spikes: rate during a spike, times base
	spikeEvery  time.Duration
	spikeWidth  time.Duration
	jumpFactor  float64 // jump: rate after the jump, times base
	jumpAt      float64 // jump: when, as a fraction of the duration
}

// makeShape returns the rate curve of a named shape, or of a CSV file ("csv:PATH").
func makeShape(name string, p shapeParams, dur time.Duration, seed int64) (rateFunc, error) {
	D := dur.Seconds()
	switch {
	case name == "steady":
		return func(float64) float64 { return p.base }, nil
	case name == "fluctuating":
		// A sine of +-50% around base plus a random +-20% step each second: load that
		// drifts and jitters but never jumps.
		period := math.Min(p.period.Seconds(), D)
		rng := rand.New(rand.NewSource(seed))
		noise := make([]float64, int(D)+2)
		for i := range noise {
			noise[i] = 0.8 + 0.4*rng.Float64()
		}
		return func(t float64) float64 {
			return p.base * (1 + 0.5*math.Sin(2*math.Pi*t/period)) * noise[int(t)]
		}, nil
	case name == "spikes":
		// Base load with short bursts of spikeFactor x base; the first burst comes half a
		// period in, so even a short run sees one.
		every, width := p.spikeEvery.Seconds(), p.spikeWidth.Seconds()
		if every > D {
			every = D
		}
		return func(t float64) float64 {
			if math.Mod(t+every/2, every) < width {
				return p.base * p.spikeFactor
			}
			return p.base
		}, nil
	case name == "jump":
		at := p.jumpAt * D
		return func(t float64) float64 {
			if t >= at {
				return p.base * p.jumpFactor
			}
			return p.base
		}, nil
	case strings.HasPrefix(name, "csv:"):
		return csvShape(strings.TrimPrefix(name, "csv:"))
	}
	return nil, fmt.Errorf("unknown shape %q (want steady, fluctuating, spikes, jump or csv:FILE)", name)
}

// csvShape reads "second,rate" rows (header and # comments allowed); each rate holds until
// the next row's second.
func csvShape(path string) (rateFunc, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("rate csv: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comment = '#'
	rows, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("rate csv %s: %w", path, err)
	}
	type point struct{ t, rate float64 }
	var pts []point
	for i, row := range rows {
		if len(row) != 2 {
			return nil, fmt.Errorf("rate csv %s line %d: want second,rate", path, i+1)
		}
		t, err1 := strconv.ParseFloat(strings.TrimSpace(row[0]), 64)
		v, err2 := strconv.ParseFloat(strings.TrimSpace(row[1]), 64)
		if err1 != nil || err2 != nil {
			if i == 0 {
				continue // header
			}
			return nil, fmt.Errorf("rate csv %s line %d: %q is not second,rate", path, i+1, strings.Join(row, ","))
		}
		if v < 0 {
			return nil, fmt.Errorf("rate csv %s line %d: negative rate", path, i+1)
		}
		pts = append(pts, point{t, v})
	}
	if len(pts) == 0 {
		return nil, fmt.Errorf("rate csv %s: no rows", path)
	}
	sort.Slice(pts, func(i, j int) bool { return pts[i].t < pts[j].t })
	return func(t float64) float64 {
		i := sort.Search(len(pts), func(i int) bool { return pts[i].t > t }) - 1
		if i < 0 {
			return 0
		}
		return pts[i].rate
	}, nil
}

// schedule turns a rate curve into send times. Uniform arrivals put request k where the
// integrated rate crosses k+0.5; poisson draws exponential gaps in integrated-rate space
// (time rescaling), so the rate curve is followed either way. n > 0 scales the curve so
// exactly n requests are sent (uniform only).
func schedule(rate rateFunc, dur time.Duration, n int, poisson bool, rng *rand.Rand) []time.Duration {
	const dt = 0.001
	steps := int(dur.Seconds() / dt)
	cum := make([]float64, steps+1) // integrated rate at each step
	for i := 1; i <= steps; i++ {
		cum[i] = cum[i-1] + rate((float64(i)-0.5)*dt)*dt
	}
	total := cum[steps]
	if total <= 0 {
		return nil
	}
	scale := 1.0
	if n > 0 {
		scale = float64(n) / total
	} else {
		n = int(math.Round(total))
	}
	var out []time.Duration
	next := func(k int) float64 { return (float64(k) + 0.5) / scale }
	acc := 0.0
	if poisson {
		acc = rng.ExpFloat64() / scale
		next = func(int) float64 { return acc }
	}
	i := 1
	for k := 0; poisson || k < n; k++ {
		target := next(k)
		for i <= steps && cum[i] < target {
			i++
		}
		if i > steps {
			break
		}
		// Interpolate inside the step for sub-millisecond placement.
		frac := (target - cum[i-1]) / (cum[i] - cum[i-1])
		out = append(out, time.Duration((float64(i-1)+frac)*dt*float64(time.Second)))
		if poisson {
			acc += rng.ExpFloat64() / scale
		}
	}
	return out
}
