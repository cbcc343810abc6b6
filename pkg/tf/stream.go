package tf

import "bytes"

// lineSplitter cuts a -json stream, written in pieces of any size, into
// its lines (one message each).
type lineSplitter struct {
	partial []byte
}

// write passes each line completed by p to line.
func (s *lineSplitter) write(p []byte, line func([]byte)) {
	s.partial = append(s.partial, p...)
	for {
		l, rest, ok := bytes.Cut(s.partial, []byte("\n"))
		if !ok {
			break
		}
		line(l)
		s.partial = rest
	}
	// The rest is kept in a buffer of its own, not the tail of a large one.
	s.partial = bytes.Clone(s.partial)
}

// flush passes on a last line that had no newline.
func (s *lineSplitter) flush(line func([]byte)) {
	if len(s.partial) > 0 {
		line(s.partial)
		s.partial = nil
	}
}
