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
