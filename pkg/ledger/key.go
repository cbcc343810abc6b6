// Package ledger holds atoll's project locks and its apply ledger: what
// they contain, how long a lock lives (held, stale, orphaned) and the
// compare-and-swap rules for taking, releasing and appending. It knows
// nothing of git: it is given a Store that reads and writes refs on the
// remote (pkg/git implements it with the git binary).
package ledger

import (
	"fmt"
	"strconv"
	"strings"
)

// Ref namespaces on the remote.
const (
	LocksPrefix  = "refs/atoll/locks/"
	LedgerPrefix = "refs/atoll/ledger/"
)

// Key names a project (and workspace) in a ref: one flat ref component,
// so that conf/prod and conf/prod/vpc never collide as ref directories.
//
// Letters, digits and '-' stay as they are; '/' becomes '_'; every other
// byte becomes %XX (upper-case hex). The default workspace ("" or
// "default") adds nothing; another adds '@' and the workspace, encoded
// the same way. The result holds only [A-Za-z0-9_%@-], never starts with
// a dot, never ends in ".lock" and never holds "@{": a valid ref
// component for any directory, and distinct directories give distinct
// keys (decoding is unambiguous).
func Key(dir, workspace string) string {
	k := encode(dir)
	if workspace != "" && workspace != "default" {
		k += "@" + encode(workspace)
	}
	return k
}

func encode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-':
			b.WriteByte(c)
		case c == '/':
			b.WriteByte('_')
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	if b.Len() == 0 {
		return "%"
	}
	return b.String()
}

// ParseKey decodes a key back into directory and workspace.
func ParseKey(k string) (dir, workspace string, ok bool) {
	d, w, hasWS := strings.Cut(k, "@")
	if dir, ok = decode(d); !ok {
		return "", "", false
	}
	if hasWS {
		if workspace, ok = decode(w); !ok {
			return "", "", false
		}
	}
	return dir, workspace, true
}

func decode(s string) (string, bool) {
	if s == "%" {
		return "", true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '_':
			b.WriteByte('/')
		case c == '%':
			if i+2 >= len(s) {
				return "", false
			}
			v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return "", false
			}
			b.WriteByte(byte(v))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}

// LockRef is the ref of a project's lock.
func LockRef(key string) string { return LocksPrefix + key }

// LedgerRef is the ref of a project's ledger.
func LedgerRef(key string) string { return LedgerPrefix + key }
