package acctest

import (
	"regexp"
	"strings"
	"testing"
)

// DiagnosticPattern matches a whole diagnostic text with Terraform's line wrapping and spacing collapsed.
func DiagnosticPattern(words string) *regexp.Regexp {
	return regexp.MustCompile(regexp.MustCompile(`\s+`).ReplaceAllString(regexp.QuoteMeta(words), `\s+`))
}

// DiagnosticMatching matches the given texts in order, each tolerant of Terraform's line wrapping.
func DiagnosticMatching(texts ...string) *regexp.Regexp {
	parts := make([]string, len(texts))
	for i, text := range texts {
		parts[i] = DiagnosticPattern(text).String()
	}
	return regexp.MustCompile(strings.Join(parts, `[\s\S]*`))
}

// ExpectOutput fails unless out matches texts, in this order, each tolerant of Terraform's line wrapping.
func ExpectOutput(t *testing.T, out string, texts ...string) {
	t.Helper()
	if want := DiagnosticMatching(texts...); !want.MatchString(out) {
		t.Errorf("output does not match %s:\n%s", want, out)
	}
}

// ExpectOutputShows fails unless Terraform's output shows words, with any line wrapping.
func ExpectOutputShows(t *testing.T, out string, words ...string) {
	t.Helper()
	for _, w := range words {
		if !DiagnosticPattern(w).MatchString(out) {
			t.Errorf("the output does not show %q:\n%s", w, out)
		}
	}
}

var diagnosticStart = regexp.MustCompile(`(?m)^[│╷\s]*(Error|Warning): `)

// ExpectDiagnostic fails unless one diagnostic alone matches texts in order, often "Error: Title" first.
func ExpectDiagnostic(t *testing.T, out string, texts ...string) {
	t.Helper()
	want := DiagnosticMatching(texts...)
	starts := append(diagnosticStart.FindAllStringIndex(out, -1), []int{len(out)}) // the end closes the last
	for i := range len(starts) - 1 {
		if want.MatchString(out[starts[i][0]:starts[i+1][0]]) {
			return
		}
	}
	t.Errorf("no diagnostic in the output matches %s:\n%s", want, out)
}
