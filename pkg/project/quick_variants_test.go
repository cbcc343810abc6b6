package project

import (
	"reflect"
	"testing"
)

// TestQuickReaderAgreesOnVariants holds the quick reader to the HCL
// parser's answer on every one-byte edit of the seeds (each byte deleted,
// and each of the characters the reader tracks inserted at each
// position): the fuzz target's property, on a corpus run every time.
func TestQuickReaderAgreesOnVariants(t *testing.T) {
	t.Parallel()
	seeds := append([]string{}, quickSeeds...)
	for _, o := range quickOrdinary {
		seeds = append(seeds, o.src)
	}
	inserts := []byte("\"{}[]()\n#/*<$%\\=-E ")
	var inputs, answered int
	check := func(s string) {
		inputs++
		q, ok := quickCalls([]byte(s))
		if !ok {
			return
		}
		answered++
		h, hok := hclCalls([]byte(s))
		if hok && !reflect.DeepEqual(q, h) {
			t.Errorf("quick %v != hcl %v for %q", q, h, s)
		}
	}
	for _, s := range seeds {
		for i := 0; i <= len(s); i++ {
			if i < len(s) {
				check(s[:i] + s[i+1:])
			}
			for _, c := range inserts {
				check(s[:i] + string(c) + s[i:])
			}
		}
	}
	if answered*4 < inputs {
		t.Errorf("the quick reader answered only %d of %d variants", answered, inputs)
	}
}
