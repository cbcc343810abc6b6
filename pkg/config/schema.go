package config

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The file's shape is checked against Config itself, before viper sees it:
// viper and mapstructure convert what they can (a string where a list
// belongs becomes a list, a number becomes a string, a map a list of one),
// which would let `roots: conf` or `workdir: 5` through. Every key gets the
// same rule from its Go type, so a new key needs nothing here.

var configType = reflect.TypeOf(Config{})

// checkShape reports the first key whose value has the wrong YAML type, or
// that Config does not have, naming its line.
func checkShape(file string, raw []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil || len(doc.Content) == 0 {
		return nil // broken or empty YAML is reported by the reader
	}
	root := doc.Content[0]
	if isNull(root) {
		return nil
	}
	return checkNode(file, root, configType, "", root.Line)
}

// checkNode checks n (found at line) against the Go type t; key is its
// dotted name for messages.
func checkNode(file string, n *yaml.Node, t reflect.Type, key string, line int) error {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if isNull(n) {
		return nil // "key:" with no value leaves the setting unset
	}
	bad := func(format string, args ...any) error {
		return &Error{File: file, Key: key, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	switch t.Kind() {
	case reflect.String:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
			return bad("expected %s, got %s", describeType(t), describeNode(n))
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return bad("expected %s, got %s", describeType(t), describeNode(n))
		}
		for i, e := range n.Content {
			if err := checkNode(file, e, t.Elem(), fmt.Sprintf("%s[%d]", key, i), e.Line); err != nil {
				return err
			}
		}
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return bad("expected %s, got %s", describeType(t), describeNode(n))
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" && k.Tag == "!!merge" {
				if err := checkNode(file, v, t, key, k.Line); err != nil {
					return err
				}
				continue
			}
			sub := k.Value
			if key != "" {
				sub = key + "." + k.Value
			}
			f, ok := fieldByKey(t, k.Value)
			if !ok || k.Kind != yaml.ScalarNode {
				return &Error{File: file, Key: sub, Line: k.Line, Msg: "unknown key; valid keys are " + strings.Join(Keys(), ", ")}
			}
			if err := checkNode(file, v, f.Type, sub, k.Line); err != nil {
				return err
			}
		}
	default:
		return bad("atoll cannot check a setting of Go type %s", t)
	}
	return nil
}

// fieldByKey finds the field of struct t that the YAML key name sets.
func fieldByKey(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if tag := keyOf(f); tag != "" && tag == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// keyOf is the YAML key of a field, empty for fields the file cannot set.
func keyOf(f reflect.StructField) string {
	tag, _, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
	if tag == "-" || !f.IsExported() {
		return ""
	}
	return tag
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func describeType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "a list of " + strings.TrimPrefix(strings.TrimPrefix(describeType(t.Elem()), "a "), "an ") + "s"
	case reflect.Struct:
		return "a map"
	}
	return t.String()
}

func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a map"
	}
	v := n.Value
	if len(v) > 40 {
		v = v[:40] + "..."
	}
	switch n.Tag {
	case "!!str":
		return fmt.Sprintf("a string (%q)", v)
	case "!!int", "!!float":
		return fmt.Sprintf("a number (%s); quote it to make it a string", v)
	case "!!bool":
		return fmt.Sprintf("a boolean (%s); quote it to make it a string", v)
	case "!!timestamp":
		return fmt.Sprintf("a date (%s); quote it to make it a string", v)
	case "!!binary":
		return "binary data"
	}
	return fmt.Sprintf("a value of YAML type %s", n.Tag)
}

// Keys lists every key atoll.yaml accepts, read from Config's fields, for
// messages, documentation and completion.
func Keys() []string {
	var out []string
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			k := keyOf(f)
			if k == "" {
				continue
			}
			switch ft := f.Type; {
			case ft.Kind() == reflect.Struct:
				walk(ft, prefix+k+".")
			case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
				out = append(out, prefix+k)
				walk(ft.Elem(), prefix+k+"[].")
			default:
				out = append(out, prefix+k)
			}
		}
	}
	walk(configType, "")
	sort.Strings(out)
	return out
}
