package ui

import (
	"bytes"
	"strings"
	"testing"

	"github.com/atoll-tf/atoll/pkg/affected"
	"github.com/atoll-tf/atoll/pkg/scan"
)

// TestTablesQuoteUnprintablePaths: a changed file may be named anything;
// in a table or a PR comment a newline, tab or escape in it is shown
// quoted, so a row stays one row and the terminal is not driven.
func TestTablesQuoteUnprintablePaths(t *testing.T) {
	rep := &scan.Report{Projects: []affected.Project{{Name: "conf/app", Dir: "conf/app", Status: affected.Modified, Reasons: []affected.Reason{
		{Kind: affected.KindFile, Path: "conf/app/files/a\nb.txt"},
		{Kind: affected.KindModule, Path: "modules/m/t\tab.tpl", Via: []string{"conf/app", "modules/m"}},
		{Kind: affected.KindWatch, Path: "policies/\x1b[2Jx.json", Via: []string{"policies"}},
	}}}}
	var table, md bytes.Buffer
	if err := ChangedTable(&table, NewStyles(&table, false), rep); err != nil {
		t.Fatal(err)
	}
	if err := ChangedMarkdown(&md, rep); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"table": table.String(), "markdown": md.String()} {
		for _, want := range []string{`"conf/app/files/a\nb.txt"`, `conf/app <- "modules/m/t\tab.tpl"`, `"policies/\x1b[2Jx.json" (matches policies)`} {
			if !strings.Contains(out, want) {
				t.Errorf("%s lacks %s:\n%s", name, want, out)
			}
		}
		if strings.ContainsAny(out, "\t\x1b") || strings.Contains(out, "a\nb") {
			t.Errorf("%s holds a raw control character:\n%q", name, out)
		}
	}
	if got := Printable("conf/my project/Zürich"); got != "conf/my project/Zürich" {
		t.Errorf("Printable changed a printable path: %q", got)
	}
}
