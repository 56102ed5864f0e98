package point

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	const waitMin, waitMax = 100 * time.Millisecond, time.Second
	for attempt, ceiling := range map[int]time.Duration{
		1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond,
		4: 800 * time.Millisecond, 5: time.Second, 50: time.Second,
	} {
		for range 100 {
			if d := backoff(attempt, waitMin, waitMax); d < ceiling/2 || d > ceiling {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", attempt, d, ceiling/2, ceiling)
			}
		}
	}
	if d := backoff(3, time.Nanosecond, time.Nanosecond); d != time.Nanosecond {
		t.Errorf("backoff with 1ns bounds = %v", d)
	}
}

func TestJitterAbove(t *testing.T) {
	const asked, waitMin = time.Second, 10 * time.Millisecond
	seen := map[time.Duration]bool{}
	for range 200 {
		d := jitterAbove(asked, waitMin)
		if d < asked || d > asked+asked/4 {
			t.Fatalf("jitterAbove(%v) = %v, want within [%v, %v]", asked, d, asked, asked+asked/4)
		}
		seen[d] = true
	}
	// Clients told the same Retry-After must not come back in lockstep.
	if len(seen) < 100 {
		t.Errorf("200 waits took only %d distinct values", len(seen))
	}
	if d := jitterAbove(0, waitMin); d < 0 || d > waitMin {
		t.Errorf("jitterAbove(0) = %v, want within [0, %v]", d, waitMin)
	}
}
