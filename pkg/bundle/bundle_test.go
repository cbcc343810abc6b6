package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const head = "0123456789abcdef0123456789abcdef01234567"

// valid writes a bundle of one plan of conf/vpc with Write and returns its
// path.
func valid(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	plan := filepath.Join(dir, "plan.tfplan")
	if err := os.WriteFile(plan, []byte("PLAN-BYTES"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := &Manifest{AtollVersion: "dev", Head: head, BaseRef: "refs/remotes/origin/main", BaseSHA: head, Created: time.Unix(0, 0)}
	in := []Input{{Project: "conf/vpc", Dir: "conf/vpc", Files: []Member{
		{Name: "record.json", Data: []byte(`{"record":true}`)},
		{Name: "plan.tfplan", Path: plan},
	}}}
	file := filepath.Join(dir, "plans.atoll")
	if err := Write(context.Background(), file, m, in); err != nil {
		t.Fatal(err)
	}
	return file
}

type rawEntry struct {
	hdr  tar.Header
	data []byte
}

// entries reads a bundle back as tar entries (the manifest first).
func entries(t *testing.T, file string) []rawEntry {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	gz, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var out []rawEntry
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		out = append(out, rawEntry{*hdr, data})
	}
}

// writeRaw writes entries as a bundle, with extra bytes after the tar.
func writeRaw(t *testing.T, file string, es []rawEntry, trailer []byte) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range es {
		h := e.hdr
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(e.data); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	zw.Write(trailer)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// editManifest changes the manifest entry and seals it again, as a forger
// who knows the seal would.
func editManifest(t *testing.T, es []rawEntry, edit func(*Manifest)) {
	t.Helper()
	var m Manifest
	if err := json.Unmarshal(es[0].data, &m); err != nil {
		t.Fatal(err)
	}
	edit(&m)
	m.Checksum = m.seal()
	b, _ := json.Marshal(&m)
	es[0].data = b
}

func open(t *testing.T, file string, lim Limits) (*Bundle, error, string) {
	t.Helper()
	scratch := t.TempDir()
	b, err := Open(context.Background(), file, Options{Scratch: scratch, Version: "dev", Limits: lim})
	return b, err, scratch
}

func TestOpenReadsWhatWriteWrote(t *testing.T) {
	t.Parallel()
	file := valid(t)
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("bundle mode %04o, want 0600", fi.Mode().Perm())
	}
	b, err, _ := open(t, file, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	got, err := os.ReadFile(b.Path("conf/vpc", "plan.tfplan"))
	if err != nil || string(got) != "PLAN-BYTES" {
		t.Fatalf("plan.tfplan = %q, %v", got, err)
	}
	if b.Path("conf/vpc", "plan.log") != "" {
		t.Errorf("plan.log has a path, but the bundle holds none")
	}
	if b.Manifest.Head != head || len(b.Manifest.Plans) != 1 {
		t.Errorf("manifest = %+v", b.Manifest)
	}
}

// TestOpenRefusesHostileBundles: every way a bundle could place a file
// outside its directory, replace one through a link, hold something that
// is not a file, or be larger or other than it says, is refused as
// invalid, and nothing of it is left in the scratch directory.
func TestOpenRefusesHostileBundles(t *testing.T) {
	t.Parallel()
	slug := "plans/" + strings.TrimPrefix(EntryName("conf/vpc", "x"), "plans/")
	slug = strings.TrimSuffix(slug, "/x")
	reg := func(name, data string) rawEntry {
		return rawEntry{tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o600}, []byte(data)}
	}
	special := func(name string, typ byte, link string) rawEntry {
		return rawEntry{tar.Header{Typeflag: typ, Name: name, Linkname: link, Mode: 0o600}, nil}
	}
	plan := slug + "/plan.tfplan"
	tests := []struct {
		name    string
		edit    func([]rawEntry) []rawEntry
		trailer []byte
		lim     Limits
		want    string
	}{
		{name: "dot-dot name", edit: func(es []rawEntry) []rawEntry { return append(es, reg("plans/../../../evil", "x")) },
			want: `"plans/../../../evil", which is not a clean relative path`},
		{name: "absolute name", edit: func(es []rawEntry) []rawEntry { return append(es, reg("/tmp/evil", "x")) },
			want: `"/tmp/evil", which is not a clean relative path`},
		{name: "dot component", edit: func(es []rawEntry) []rawEntry { return append(es, reg(slug+"/./plan.log", "x")) },
			want: "not a clean relative path"},
		{name: "backslash", edit: func(es []rawEntry) []rawEntry { return append(es, reg(slug+`\..\evil`, "x")) },
			want: "not a clean relative path"},
		{name: "symlink", edit: func(es []rawEntry) []rawEntry { es[2] = special(plan, tar.TypeSymlink, "/etc/passwd"); return es },
			want: `entry "` + plan + `" is a symlink to /etc/passwd, not a regular file`},
		{name: "hard link", edit: func(es []rawEntry) []rawEntry { es[2] = special(plan, tar.TypeLink, "/etc/passwd"); return es },
			want: "is a hard link to /etc/passwd, not a regular file"},
		{name: "character device", edit: func(es []rawEntry) []rawEntry { es[2] = special(plan, tar.TypeChar, ""); return es },
			want: "is a device, not a regular file"},
		{name: "block device", edit: func(es []rawEntry) []rawEntry { es[2] = special(plan, tar.TypeBlock, ""); return es },
			want: "is a device, not a regular file"},
		{name: "fifo", edit: func(es []rawEntry) []rawEntry { es[2] = special(plan, tar.TypeFifo, ""); return es },
			want: "is a named pipe (FIFO), not a regular file"},
		{name: "directory", edit: func(es []rawEntry) []rawEntry { es[2] = special(slug, tar.TypeDir, ""); return es },
			want: "is a directory, not a regular file"},
		{name: "duplicate", edit: func(es []rawEntry) []rawEntry { return append(es, es[2]) },
			want: `holds "` + plan + `" twice`},
		{name: "entry the manifest does not list", edit: func(es []rawEntry) []rawEntry { return append(es, reg(slug+"/plan.log", "x")) },
			want: "which its manifest does not list"},
		{name: "listed entry missing", edit: func(es []rawEntry) []rawEntry { return es[:2] },
			want: plan + ", which its manifest lists, is missing (truncated)"},
		{name: "larger than the manifest says", edit: func(es []rawEntry) []rawEntry { es[2].data = []byte("PLAN-BYTES-AND-MORE"); return es },
			want: plan + " has 19 bytes, but the manifest says 10"},
		{name: "altered, same size", edit: func(es []rawEntry) []rawEntry { es[2].data = []byte("EVIL-BYTES"); return es },
			want: plan + " was altered after it was written (checksum mismatch)"},
		{name: "manifest not first", edit: func(es []rawEntry) []rawEntry { return append(es[1:], es[0]) },
			want: "its first entry is"},
		{name: "manifest altered, not sealed", edit: func(es []rawEntry) []rawEntry {
			es[0].data = bytes.Replace(es[0].data, []byte("origin/main"), []byte("origin/evil"), 1)
			return es
		}, want: "the manifest was altered after it was written (checksum mismatch)"},
		{name: "manifest names a project outside", edit: func(es []rawEntry) []rawEntry {
			editManifest(t, es, func(m *Manifest) { m.Plans[0].Dir = "../conf" })
			return es
		}, want: `project directory "../conf" that is not a clean relative path`},
		{name: "manifest lists a file no plan has", edit: func(es []rawEntry) []rawEntry {
			editManifest(t, es, func(m *Manifest) { m.Plans[0].Files[1].Name = slug + "/evil.sh" })
			es[2].hdr.Name = slug + "/evil.sh"
			return es
		}, want: "which is no file of the plan of conf/vpc"},
		{name: "manifest lists a file twice", edit: func(es []rawEntry) []rawEntry {
			editManifest(t, es, func(m *Manifest) { m.Plans[0].Files = append(m.Plans[0].Files, m.Plans[0].Files[1]) })
			return es
		}, want: "the manifest lists " + plan + " twice"},
		{name: "manifest with unknown fields", edit: func(es []rawEntry) []rawEntry {
			es[0].data = bytes.Replace(es[0].data, []byte(`{`), []byte(`{"extra":true,`), 1)
			return es
		}, want: "its manifest does not read as this atoll's"},
		{name: "oversized entry", lim: Limits{Manifest: 1 << 20, Record: 1 << 20, Plan: 4, Text: 1 << 20, Total: 1 << 20},
			want: plan + " has 10 bytes; a plan.tfplan may have at most 4"},
		{name: "oversized in total", lim: Limits{Manifest: 1 << 20, Record: 1 << 20, Plan: 1 << 20, Text: 1 << 20, Total: 8},
			want: "more than the 8 a bundle may hold"},
		{name: "oversized manifest", lim: Limits{Manifest: 16, Record: 1 << 20, Plan: 1 << 20, Text: 1 << 20, Total: 1 << 20},
			want: "its manifest has"},
		{name: "data after the last entry", trailer: []byte("#!/bin/sh\n"), want: "it holds more data after its last entry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			file := valid(t)
			if tt.edit != nil || tt.trailer != nil {
				es := entries(t, file)
				if tt.edit != nil {
					es = tt.edit(es)
				}
				writeRaw(t, file, es, tt.trailer)
			}
			b, err, scratch := open(t, file, tt.lim)
			if err == nil {
				b.Close()
				t.Fatalf("Open accepted it")
			}
			var ie *InvalidError
			if !errors.As(err, &ie) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v (%T), want an InvalidError saying %q", err, err, tt.want)
			}
			if left, _ := os.ReadDir(scratch); len(left) != 0 {
				t.Errorf("left in the scratch directory: %v", left)
			}
		})
	}
}

func TestOpenRefusesNonBundles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notGzip := filepath.Join(dir, "plain")
	os.WriteFile(notGzip, []byte("hello"), 0o600)
	truncated := valid(t)
	b, _ := os.ReadFile(truncated)
	os.WriteFile(truncated, b[:len(b)/2], 0o600)
	appended := valid(t)
	b, _ = os.ReadFile(appended)
	os.WriteFile(appended, append(b, "PK\x03\x04 more"...), 0o600)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{
		notGzip:   "it is not gzip-compressed",
		truncated: "it ends early (truncated)",
		appended:  "it holds more data after its compressed stream",
		fifo:      "is a named pipe (FIFO)",
		dir:       "is a directory",
	} {
		_, err, _ := open(t, file, Limits{})
		var ie *InvalidError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want an InvalidError saying %q", filepath.Base(file), err, want)
		}
	}
}

func TestOpenRefusesAnotherVersionOrFormat(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		edit func(*Manifest)
		want string
	}{
		{func(m *Manifest) { m.AtollVersion = "v0.1.0" }, "the bundle was written by atoll v0.1.0, and this is atoll dev"},
		{func(m *Manifest) { m.Format = 7 }, "the bundle has format 7 (written by atoll dev), and this atoll (dev) reads format 1"},
	} {
		file := valid(t)
		es := entries(t, file)
		editManifest(t, es, tt.edit)
		writeRaw(t, file, es, nil)
		_, err, _ := open(t, file, Limits{})
		var me *MismatchError
		if !errors.As(err, &me) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("error %v, want a MismatchError saying %q", err, tt.want)
		}
	}
}

// TestWriteIsAtomic: an interrupted Write leaves no file and no
// temporary file; a link at the destination is replaced, its target kept.
func TestWriteIsAtomic(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dst := filepath.Join(dir, "plans.atoll")
	in := []Input{{Project: "a", Dir: "a", Files: []Member{{Name: "record.json", Data: []byte("{}")}, {Name: "plan.tfplan", Data: []byte("p")}}}}
	if err := Write(ctx, dst, &Manifest{Head: head}, in); !errors.Is(err, context.Canceled) {
		t.Fatalf("Write = %v, want context.Canceled", err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("an interrupted Write left %v", left)
	}

	target := filepath.Join(dir, "target")
	os.WriteFile(target, []byte("keep"), 0o644)
	if err := os.Symlink(target, dst); err != nil {
		t.Fatal(err)
	}
	if err := Write(context.Background(), dst, &Manifest{Head: head}, in); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(target); string(b) != "keep" {
		t.Errorf("Write wrote through the link: target holds %q", b)
	}
	fi, err := os.Lstat(dst)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
		t.Errorf("dst = %v, %v; want a regular file, mode 0600", fi.Mode(), err)
	}
}
