package bundle

import (
	"errors"
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	t.Parallel()
	const (
		a, b, mb1, mb2 = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "1111111111111111111111111111111111111111", "2222222222222222222222222222222222222222"
		rootA, rootB   = "r0000000000000000000000000000000000000a", "r0000000000000000000000000000000000000b"
	)
	m := &Manifest{Head: a, Branch: "feature", BaseRef: "refs/remotes/origin/main", BaseSHA: mb1, MergeBase: mb1,
		Repository: Repository{RootCommits: []string{rootA}, Origin: "example.com/o/r"}}
	here := func(edit func(*Here)) Here {
		h := Here{Head: a, BaseRef: "refs/remotes/origin/main", BaseSHA: mb1, MergeBase: mb1,
			HasCommit:   func(sha string) bool { return sha == a || sha == b },
			RootCommits: func() []string { return []string{rootA} }}
		if edit != nil {
			edit(&h)
		}
		return h
	}
	tests := []struct {
		name string
		here Here
		want string // "" accepts
	}{
		{"same", here(nil), ""},
		{"base moved on: for the up-to-date check", here(func(h *Here) { h.BaseSHA = b }), ""},
		{"HEAD moved", here(func(h *Here) { h.Head = b }), "HEAD moved since the plan: the bundle's plans were made at aaaaaaaa (feature), HEAD is bbbbbbbb"},
		{"another repository", here(func(h *Here) {
			h.Head, h.HasCommit, h.RootCommits = b, func(string) bool { return false }, func() []string { return []string{rootB} }
		}), "planned in another repository: its history starts at r0000000 (origin example.com/o/r), this one's at r0000000"},
		{"commit missing, same repository", here(func(h *Here) { h.Head, h.HasCommit = b, func(string) bool { return false } }),
			"the bundle's plans were made at aaaaaaaa (feature), which this repository does not have"},
		{"commit missing, shallow clone", here(func(h *Here) {
			h.Head, h.HasCommit, h.RootCommits = b, func(string) bool { return false }, func() []string { return nil }
		}), "which this repository does not have"},
		{"another base", here(func(h *Here) { h.BaseRef = "refs/remotes/origin/release" }), "with the base refs/remotes/origin/main, and this apply compares with refs/remotes/origin/release"},
		{"another merge-base", here(func(h *Here) { h.MergeBase = mb2 }), "the merge-base of HEAD and refs/remotes/origin/main is 22222222 here, but the bundle's plans were made against 11111111"},
	}
	for _, tt := range tests {
		err := m.Match("plans.atoll", tt.here)
		var me *MismatchError
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: refused: %v", tt.name, err)
		case tt.want != "" && (!errors.As(err, &me) || !strings.Contains(err.Error(), tt.want) || me.Hint() == ""):
			t.Errorf("%s: error %v, want a MismatchError with a hint saying %q", tt.name, err, tt.want)
		}
	}
}
