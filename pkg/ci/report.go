package ci

import (
	"fmt"
	"io"
	"strings"
)

// Report is how a command opts in to the CI's own outputs: the Markdown
// appended to the job summary, and the annotations raised on the run.
// plan, apply, guard and status implement it over the result struct their
// other renderings use; a new command does the same and calls Publish.
type Report interface {
	// Summary is the result as Markdown ("" writes nothing).
	Summary() string
	// Annotations are the result's problems, tied to files when they are.
	Annotations() []Annotation
}

// Publish writes a report's annotations to w and appends its summary to
// $GITHUB_STEP_SUMMARY. summary false leaves the job summary alone (the
// command already writes Markdown to stdout, which the job may append
// itself). Outside GitHub Actions nothing is written.
func (e Env) Publish(w io.Writer, r Report, summary bool) error {
	if e.System != GitHub {
		return nil
	}
	e.Annotate(w, r.Annotations())
	if !summary || e.SummaryFile == "" {
		return nil
	}
	md := r.Summary()
	if md == "" {
		return nil
	}
	if !strings.HasSuffix(md, "\n") {
		md += "\n"
	}
	if err := AppendFile(e.SummaryFile, md+"\n"); err != nil {
		return fmt.Errorf("write the job summary ($GITHUB_STEP_SUMMARY): %w", err)
	}
	return nil
}
