// Package modsource classifies Terraform module source addresses the way
// Terraform reads them: which are local paths inside the calling module's
// tree, which directory such a path names, and which name the runner's file
// system outside any repository. It is shared by the configuration (the
// -from-module source of a declared project) and discovery (module blocks,
// .envrc exports), so both draw the line in the same place.
package modsource

import (
	"path"
	"strings"
)

// IsLocal reports whether src is a local path. Terraform's rule: it starts
// with ./ or ../, or their backslash forms .\ and ..\ (backslashes are
// path separators in every local source, on every platform). "." and ".."
// alone name a directory too.
func IsLocal(src string) bool {
	for _, p := range []string{"./", "../", `.\`, `..\`} {
		if strings.HasPrefix(src, p) {
			return true
		}
	}
	return src == "." || src == ".."
}

// Path is the slash path a local source names, relative to the directory
// of the module that calls it: backslashes are separators, and "//" is an
// ordinary (doubled) separator, not the subdirectory separator of remote
// sources, so "../../modules//net" is "../../modules/net".
func Path(src string) string {
	return path.Clean(strings.ReplaceAll(src, `\`, "/"))
}

// Join resolves the local source src, called from the repository-relative
// directory dir, to the repository-relative directory it names; inside is
// false when that leaves the repository.
func Join(dir, src string) (target string, inside bool) {
	target = path.Join(dir, Path(src))
	return target, target != ".." && !strings.HasPrefix(target, "../")
}

// IsAbsolute reports whether src names the local file system by an absolute
// path: /x, a Windows drive (C:\x, C:/x), a UNC path (\\host\x), or a file
// URL (file:///x, file::/x). Terraform copies such a directory from the
// machine that runs it, wherever that is: no repository holds it.
func IsAbsolute(src string) bool {
	switch {
	case strings.HasPrefix(src, "/"), strings.HasPrefix(src, `\\`):
		return true
	case len(src) >= 3 && isLetter(src[0]) && src[1] == ':' && (src[2] == '\\' || src[2] == '/'):
		return true
	}
	lower := strings.ToLower(src)
	if strings.HasPrefix(lower, "file::") {
		return IsAbsolute(src[len("file::"):])
	}
	return strings.HasPrefix(lower, "file://")
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
