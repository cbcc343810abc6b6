package bundle

import (
	"archive/tar"
	"bufio"
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

	"github.com/atoll-tf/atoll/pkg/safefs"
)

// Bundle is a bundle read and verified, its files extracted into a private
// directory. Close removes them.
type Bundle struct {
	Manifest *Manifest
	// File is the bundle's path, for messages.
	File string
	dir  string
}

// Path is where the extracted file of the plan of the project in dir is,
// "" when the bundle has none.
func (b *Bundle) Path(dir, file string) string {
	name := EntryName(dir, file)
	for _, p := range b.Manifest.Plans {
		for _, f := range p.Files {
			if f.Name == name {
				return filepath.Join(b.dir, filepath.FromSlash(name))
			}
		}
	}
	return ""
}

// Close removes the extracted files.
func (b *Bundle) Close() error { return os.RemoveAll(b.dir) }

// Options say how to read a bundle.
type Options struct {
	// Scratch is the directory (private to the user) in which the files
	// are extracted, in a new directory of their own.
	Scratch string
	// Version is this atoll's version: a bundle of another is refused.
	Version string
	Limits  Limits
}

// Open reads the bundle at file and verifies all of it before returning:
// the manifest's format, version and seal, and that the entries are
// exactly the files it lists, regular, each once, of the size and SHA-256
// it gives. Nothing is returned of a bundle that fails: an *InvalidError
// (damaged, truncated, altered, hostile) or a *MismatchError (another
// format or atoll version).
func Open(ctx context.Context, file string, opt Options) (*Bundle, error) {
	lim := opt.Limits
	if lim == (Limits{}) {
		lim = DefaultLimits
	}
	f, _, err := safefs.OpenRegular(file, true)
	if err != nil {
		var nr *safefs.NotRegularError
		if errors.As(err, &nr) {
			return nil, &InvalidError{File: file, Why: nr.Error()}
		}
		return nil, err
	}
	defer f.Close()
	// Not named .tmp-*: atoll clean removes those, and this one is in use
	// until Close.
	dir, err := os.MkdirTemp(opt.Scratch, ".bundle-*")
	if err != nil {
		return nil, err
	}
	b := &Bundle{File: file, dir: dir}
	if err := b.read(ctx, f, opt.Version, lim); err != nil {
		_ = b.Close()
		return nil, err
	}
	return b, nil
}

func (b *Bundle) read(ctx context.Context, r io.Reader, version string, lim Limits) error {
	bad := func(format string, args ...any) error {
		return &InvalidError{File: b.File, Why: fmt.Sprintf(format, args...)}
	}
	// gzip reads through br (a ByteReader) without buffering past the end
	// of its stream, so what follows that end can be told apart.
	br := bufio.NewReader(r)
	gz, err := gzip.NewReader(br)
	if err != nil {
		return bad("it is not gzip-compressed (%v)", err)
	}
	gz.Multistream(false)
	tr := tar.NewReader(gz)
	corrupt := func(err error) error {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return bad("it ends early (truncated)")
		}
		return bad("it is damaged (%v)", err)
	}

	hdr, err := tr.Next()
	if err != nil {
		return corrupt(err)
	}
	if hdr.Name != ManifestName {
		return bad("its first entry is %q, not the manifest %s", hdr.Name, ManifestName)
	}
	if err := regular(hdr, b.File); err != nil {
		return err
	}
	if hdr.Size > lim.Manifest {
		return bad("its manifest has %d bytes, more than %d", hdr.Size, lim.Manifest)
	}
	raw, err := io.ReadAll(io.LimitReader(tr, lim.Manifest+1))
	if err != nil {
		return corrupt(err)
	}
	m, err := parseManifest(raw, b.File, version)
	if err != nil {
		return err
	}
	if err := m.check(b.File, lim); err != nil {
		return err
	}
	b.Manifest = m

	listed := map[string]File{}
	for _, p := range m.Plans {
		for _, f := range p.Files {
			listed[f.Name] = f
		}
	}
	tree, err := safefs.OpenTree(b.dir)
	if err != nil {
		return err
	}
	defer tree.Close()
	seen := map[string]bool{ManifestName: true}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return corrupt(err)
		}
		if seen[hdr.Name] {
			return bad("it holds %q twice", hdr.Name)
		}
		seen[hdr.Name] = true
		if !cleanPath(hdr.Name) {
			return bad("it holds an entry named %q, which is not a clean relative path (absolute, with .. or . components, or odd characters)", hdr.Name)
		}
		if err := regular(hdr, b.File); err != nil {
			return err
		}
		want, ok := listed[hdr.Name]
		if !ok {
			return bad("it holds %q, which its manifest does not list", hdr.Name)
		}
		if hdr.Size != want.Size {
			return bad("%s has %d bytes, but the manifest says %d", hdr.Name, hdr.Size, want.Size)
		}
		if err := extract(ctx, tree, tr, want, b.File); err != nil {
			var ie *InvalidError
			var le *safefs.LinkError
			switch {
			case errors.As(err, &ie), ctx.Err() != nil:
				return err
			case errors.As(err, &le):
				return bad("%v", le)
			}
			return corrupt(err)
		}
	}
	for name := range listed {
		if !seen[name] {
			return bad("%s, which its manifest lists, is missing (truncated)", name)
		}
	}
	// The end of the tar is not the end of the stream: its checksum (and
	// anything after it) is only read by reading on. Only the zeros that
	// pad a tar may follow.
	rest, err := io.ReadAll(io.LimitReader(gz, 1<<20))
	if err != nil {
		return corrupt(err)
	}
	if len(rest) >= 1<<20 || bytes.Count(rest, []byte{0}) != len(rest) {
		return bad("it holds more data after its last entry")
	}
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		return bad("it holds more data after its compressed stream")
	}
	return nil
}

// parseManifest reads the manifest, refusing another format or another
// version of atoll before trusting any other field.
func parseManifest(raw []byte, file, version string) (*Manifest, error) {
	var probe struct {
		Format       *int   `json:"format"`
		AtollVersion string `json:"atoll_version"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil || probe.Format == nil {
		return nil, &InvalidError{File: file, Why: "its manifest is not valid JSON (truncated or edited)"}
	}
	if *probe.Format != FormatVersion {
		return nil, &MismatchError{File: file,
			Why: fmt.Sprintf("the bundle has format %d (written by atoll %s), and this atoll (%s) reads format %d", *probe.Format, probe.AtollVersion, version, FormatVersion),
			Fix: "plan and apply with the same version of atoll (pin it in both jobs), or plan again with this one"}
	}
	if probe.AtollVersion != version {
		return nil, &MismatchError{File: file,
			Why: fmt.Sprintf("the bundle was written by atoll %s, and this is atoll %s", probe.AtollVersion, version),
			Fix: "plan and apply with the same version of atoll (pin it in both jobs), or plan again with this one"}
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, &InvalidError{File: file, Why: fmt.Sprintf("its manifest does not read as this atoll's (%v)", err)}
	}
	return &m, nil
}

// regular refuses every entry that is not a regular file: links, devices,
// FIFOs and directories have no place in a bundle.
func regular(hdr *tar.Header, file string) error {
	if hdr.Typeflag == tar.TypeReg {
		return nil
	}
	what := fmt.Sprintf("of type %q", hdr.Typeflag)
	switch hdr.Typeflag {
	case tar.TypeSymlink:
		what = "a symlink to " + hdr.Linkname
	case tar.TypeLink:
		what = "a hard link to " + hdr.Linkname
	case tar.TypeChar, tar.TypeBlock:
		what = "a device"
	case tar.TypeFifo:
		what = "a named pipe (FIFO)"
	case tar.TypeDir:
		what = "a directory"
	}
	return &InvalidError{File: file, Why: fmt.Sprintf("its entry %q is %s, not a regular file", hdr.Name, what)}
}

// extract writes one entry below tree, checking its SHA-256.
func extract(ctx context.Context, tree *safefs.Tree, r io.Reader, want File, file string) error {
	out, err := tree.Create(want.Name, 0o600)
	if err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), &ctxReader{ctx: ctx, r: io.LimitReader(r, want.Size)})
	if err := errors.Join(err, out.Close()); err != nil {
		return err
	}
	if n != want.Size {
		return io.ErrUnexpectedEOF
	}
	if hex.EncodeToString(h.Sum(nil)) != want.SHA256 {
		return &InvalidError{File: file, Why: want.Name + " was altered after it was written (checksum mismatch)"}
	}
	return nil
}
