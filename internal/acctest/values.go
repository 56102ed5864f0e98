package acctest

import (
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// Values: sets of ids, times, and values of the provider protocol.

// SameElements reports whether a and b hold the same elements, in any
// order.
func SameElements(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}

// FormatRFC3339 writes a time as the provider writes timestamps.
func FormatRFC3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// ObjectWithNulls builds a value of an object type, with null for every
// attribute not given.
func ObjectWithNulls(t *testing.T, typ tftypes.Type, given map[string]tftypes.Value) tftypes.Value {
	t.Helper()
	obj, ok := typ.(tftypes.Object)
	if !ok {
		t.Fatalf("%s is not an object type", typ)
	}
	vals := make(map[string]tftypes.Value, len(obj.AttributeTypes))
	for name, attrType := range obj.AttributeTypes {
		vals[name] = tftypes.NewValue(attrType, nil)
		if v, ok := given[name]; ok {
			vals[name] = v
		}
	}
	return tftypes.NewValue(typ, vals)
}

// StringOrNil returns a string value, or nil when it is null.
func StringOrNil(t *testing.T, v tftypes.Value) *string {
	t.Helper()
	if v.IsNull() {
		return nil
	}
	var s string
	if err := v.As(&s); err != nil {
		t.Fatal(err)
	}
	return &s
}
