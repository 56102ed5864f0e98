package acctest

import (
	"slices"
	"time"
)

// SameElements reports whether a and b hold the same elements, in any order.
func SameElements(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}

// FormatRFC3339 writes a time as the provider writes timestamps.
func FormatRFC3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }
