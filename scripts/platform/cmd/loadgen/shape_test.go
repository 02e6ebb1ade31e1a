package main

import (
	"math/rand"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestScheduleFollowsShapes(t *testing.T) {
	p := shapeParams{base: 100, period: 10 * time.Second, spikeFactor: 4, spikeEvery: 10 * time.Second,
		spikeWidth: time.Second, jumpFactor: 2, jumpAt: 0.5}
	rng := rand.New(rand.NewSource(1))
	for _, c := range []struct {
		shape string
		want  int // requests in 10 s
	}{{"steady", 1000}, {"spikes", 1300}, {"jump", 1500}} {
		r, err := makeShape(c.shape, p, 10*time.Second, 1)
		if err != nil {
			t.Fatal(err)
		}
		got := schedule(r, 10*time.Second, 0, false, rng)
		if d := len(got) - c.want; d < -2 || d > 2 {
			t.Errorf("%s: %d requests, want about %d", c.shape, len(got), c.want)
		}
		for i := 1; i < len(got); i++ {
			if got[i] < got[i-1] {
				t.Fatalf("%s: times not sorted", c.shape)
			}
		}
	}
	r, _ := makeShape("spikes", p, 10*time.Second, 1)
	got := schedule(r, 10*time.Second, 0, false, rng)
	inSpike := 0
	for _, at := range got {
		if at >= 5*time.Second && at < 6*time.Second {
			inSpike++
		}
	}
	if inSpike < 390 || inSpike > 410 {
		t.Errorf("spike second has %d requests, want 400", inSpike)
	}
	if n := len(schedule(r, 10*time.Second, 250, false, rng)); n != 250 {
		t.Errorf("exact count: got %d", n)
	}
	f, _ := makeShape("fluctuating", p, 10*time.Second, 1)
	if n := len(schedule(f, 10*time.Second, 0, true, rng)); n < 700 || n > 1300 {
		t.Errorf("poisson fluctuating: %d requests", n)
	}
}

func TestCSVShape(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.csv")
	os.WriteFile(path, []byte("second,rate\n# ramp\n0,10\n2,50\n"), 0o644)
	r, err := makeShape("csv:"+path, shapeParams{}, 4*time.Second, 1)
	if err != nil {
		t.Fatal(err)
	}
	if r(1) != 10 || r(3) != 50 {
		t.Errorf("rates %v %v", r(1), r(3))
	}
	if n := len(schedule(r, 4*time.Second, 0, false, rand.New(rand.NewSource(1)))); n != 120 {
		t.Errorf("got %d requests, want 120", n)
	}
}
