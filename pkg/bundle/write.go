package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/atoll-tf/atoll/pkg/safefs"
)

// Input is one plan to write into a bundle.
type Input struct {
	Project, Dir string
	Files        []Member
}

// Member is one file of a plan: Data, or the file at Path (read without
// following a link, only when it is a regular file).
type Member struct {
	// Name is the file's name in the plan directory (record.json, ...).
	Name string
	Data []byte
	Path string
}

// Write writes a bundle of plans to dst. It is written to a temporary file
// next to dst (mode 0600) and renamed over dst when complete, so dst is
// either the whole bundle or untouched: an interruption (ctx) or an error
// removes the temporary file, and a link at dst is replaced, never
// written through. m's Format, Plans and Checksum are filled in.
func Write(ctx context.Context, dst string, m *Manifest, plans []Input) (err error) {
	m.Format, m.Plans = FormatVersion, nil
	for _, in := range plans {
		p := Plan{Project: in.Project, Dir: in.Dir}
		for _, f := range in.Files {
			size, sum, err := digest(f)
			if err != nil {
				return err
			}
			p.Files = append(p.Files, File{Name: EntryName(in.Dir, f.Name), Size: size, SHA256: sum})
		}
		m.Plans = append(m.Plans, p)
	}
	m.Checksum = m.seal()
	head, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}

	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return err
	}
	gz := gzip.NewWriter(tmp)
	tw := tar.NewWriter(gz)
	if err := entry(tw, ManifestName, int64(len(head)), m.Created, bytesReader(head)); err != nil {
		return err
	}
	for i, in := range plans {
		for j, f := range in.Files {
			if err := ctx.Err(); err != nil {
				return err
			}
			want := m.Plans[i].Files[j]
			if err := copyMember(ctx, tw, f, want, m.Created); err != nil {
				return err
			}
		}
	}
	if err := errors.Join(tw.Close(), gz.Close()); err != nil {
		return err
	}
	if err := errors.Join(tmp.Sync(), tmp.Close()); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

func bytesReader(b []byte) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
}

func (f Member) open() (io.ReadCloser, error) {
	if f.Path == "" {
		return bytesReader(f.Data)()
	}
	file, _, err := safefs.OpenRegular(f.Path, false)
	return file, err
}

// digest is a member's size and SHA-256.
func digest(f Member) (int64, string, error) {
	r, err := f.open()
	if err != nil {
		return 0, "", err
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// copyMember writes a member as the entry want describes, and fails when
// its bytes are no longer those digested.
func copyMember(ctx context.Context, tw *tar.Writer, f Member, want File, mtime time.Time) error {
	h := sha256.New()
	err := entry(tw, want.Name, want.Size, mtime, func() (io.ReadCloser, error) {
		r, err := f.open()
		if err != nil {
			return nil, err
		}
		return struct {
			io.Reader
			io.Closer
		}{io.TeeReader(&ctxReader{ctx: ctx, r: r}, h), r}, nil
	})
	if err != nil {
		return err
	}
	if hex.EncodeToString(h.Sum(nil)) != want.SHA256 {
		return fmt.Errorf("%s changed while it was being bundled", want.Name)
	}
	return nil
}

// entry writes one regular file of size bytes.
func entry(tw *tar.Writer, name string, size int64, mtime time.Time, open func() (io.ReadCloser, error)) error {
	r, err := open()
	if err != nil {
		return err
	}
	defer r.Close()
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o600, ModTime: mtime.UTC().Truncate(time.Second), Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	n, err := io.Copy(tw, io.LimitReader(r, size))
	if err != nil {
		return err
	}
	if n != size {
		return fmt.Errorf("%s changed while it was being bundled (%d bytes, not %d)", name, n, size)
	}
	return nil
}

// ctxReader stops a copy when the context ends (Ctrl-C).
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
