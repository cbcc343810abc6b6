package git

import "testing"

func TestNormalizeURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"git@github.com:o/r.git":                               "github.com/o/r",
		"https://github.com/o/r":                               "github.com/o/r",
		"https://x-access-token:secret@GitHub.com/o/r/":        "github.com/o/r",
		"ssh://git@gitlab.example.com:2222/g/sub/r.git":        "gitlab.example.com/g/sub/r",
		"https://gitlab-ci-token:t@gitlab.example.com/g/r.git": "gitlab.example.com/g/r",
		"/srv/git/repo.git":                                    "/srv/git/repo",
		"file:///srv/git/repo.git":                             "/srv/git/repo",
	} {
		if got := NormalizeURL(in); got != want {
			t.Errorf("NormalizeURL(%q) = %q, want %q", in, got, want)
		}
	}
}
