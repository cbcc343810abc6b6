package config

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// TestSourceOutsideTheRepository: a projects[].source that names the file
// system outside the repository (an absolute path, or a local path that
// climbs out) is refused like a ../ dir, naming file, line and key.
func TestSourceOutsideTheRepository(t *testing.T) {
	bad := []struct{ source, msg string }{
		{"/etc", `"/etc" is an absolute path, outside the repository`},
		{"/opt/modules/zone", "absolute path"},
		{"file:///opt/modules/zone", "absolute path"},
		{`C:\modules\zone`, "absolute path"},
		{"../../../../outside", `"../../../../outside" resolves (from conf/prod/zone) to ../outside, outside the repository`},
		{`..\..\..\..\outside`, "to ../outside, outside the repository"},
		{"../../..//../outside", "to ../outside, outside the repository"},
	}
	for _, tt := range bad {
		t.Run(tt.source, func(t *testing.T) {
			dir := write(t, "projects:\n  - dir: conf/prod/zone\n    source: '"+tt.source+"'\n")
			_, err := Load(dir, "", nil)
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want *config.Error", err)
			}
			if ce.File != filepath.Join(dir, FileName) || ce.Key != "projects[0].source" || ce.Line != 3 || !strings.Contains(ce.Msg, tt.msg) {
				t.Errorf("got %+v, want key projects[0].source line 3 msg ~%q", ce, tt.msg)
			}
		})
	}
	for _, ok := range []string{"../../../modules/zone", `..\..\..\modules\zone`, "./vendor/zone", "git::https://example.com/m.git//zone?ref=v1", "cloudposse/zone/aws", "git::file:///srv/m.git?ref=v1"} {
		dir := write(t, "projects:\n  - dir: conf/prod/zone\n    source: '"+ok+"'\n")
		if _, err := Load(dir, "", nil); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}
