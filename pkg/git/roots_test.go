package git_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/atoll-tf/atoll/pkg/git"
)

// TestRootCommits: a clone names the root commit git rev-list does; a
// shallow clone, whose boundary git reads as parentless, names none.
func TestRootCommits(t *testing.T) {
	t.Parallel()
	s := history(t, 3)
	root := strings.TrimSpace(gitIn(t, s.Work, "rev-list", "--max-parents=0", "HEAD"))
	for _, tt := range []struct {
		name string
		dir  string
		want []string
	}{
		{"full clone", s.Work, []string{root}},
		{"shallow clone", shallowClone(t, s, 1), nil},
	} {
		r, err := git.Open(tt.dir)
		if err != nil {
			t.Fatal(err)
		}
		head, err := r.Head()
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.RootCommits(context.Background(), head.SHA)
		r.Close()
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("%s: RootCommits = %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
}
