package project

import (
	"reflect"
	"testing"
)

// quickOrdinary are files the quick reader must answer, with the calls.
var quickOrdinary = []struct {
	src  string
	want []Call
}{
	{"module m {\n  source = \"./m\"\n}\n", []Call{{"m", "./m", 2}}},
	{"module \"t\" {\n  source = \"a\\tb\\nc\\\\d\"\n}\n", []Call{{"t", "a\tb\nc\\d", 2}}},
	{"module \"c\" {\n  source = \"./c\" # why\n  version = \"~> 1.0\" // pinned\n}\n", []Call{{"c", "./c", 2}}},
	{"module \"one\" { source = \"./one\" }\nmodule \"two\" {\n  count = 1\n  source = \"./two\"\n}\n", []Call{{"one", "./one", 1}, {"two", "./two", 4}}},
	{"/* a\n b\n c */\nmodule \"after\" {\n  source = \"./after\"\n}\n", []Call{{"after", "./after", 5}}},
	{"module \"nested\" {\n  source = \"./n\"\n  lifecycle {\n    ignore_changes = [x]\n  }\n  providers_x \"l\" id {\n    a = 1\n  }\n}\n", []Call{{"nested", "./n", 2}}},
	{"module \"ops\" {\n  source = \"./ops\"\n  a = 1 >= 2\n  b = 1 <= 2\n  c = 1 != 2\n  d = 1 == 2\n  e = { for k, v in var.m : k => v }\n}\n", []Call{{"ops", "./ops", 2}}},
	{"locals {\n  s = \"a \\\" } b\"\n  d = \"$${x} %%{y}\"\n  i = \"${var.x}\"\n}\nmodule \"m\" {\n  source = \"./m\"\n}\n", []Call{{"m", "./m", 7}}},
	{"locals {\n  h = <<-EOT\n    module \"fake\" {\n  EOT   \n  j = <<EOF\n}\nEOF\n}\nmodule \"m\" {\n  source = \"./m\"\n}\n", []Call{{"m", "./m", 10}}},
	{"x = [\n  1,\n  2,\n]\ny = (1 +\n  2)\nmodule \"m\" {\n  source = \"./m\"\n}\n", []Call{{"m", "./m", 8}}},
	{"locals { a = 1 }\nmodule \"m\" {\n  source = \"./m\"\n}\n", []Call{{"m", "./m", 3}}},
	{"module \"m\" {\n\tsource = \"./m\"\r\n}\r\n", []Call{{"m", "./m", 2}}},
	{"resource \"x\" \"y\" {}\n", nil},
	{"module \"m\" {\n  source = \"./a$b%c{d\"\n}\n", []Call{{"m", "./a$b%c{d", 2}}},
	{"locals {\n  x = \"$${a %%{b\"\n}\nmodule \"m\" {\n  source = \"./m\"\n}\n", []Call{{"m", "./m", 5}}},
	{"locals {\n  a = 4 / 2\n  b = c*d\n}\nmodule \"m\" {\n  source = \"./m\"\n}\n", []Call{{"m", "./m", 6}}},
	{"aZ09-\u00e9 {}\nzA_9 {\n  Az-0 = 1\n}\nZa {}\nmodule \"m\" {\n  a9-Z_z = 2\n  source = \"./m\"\n}\n", []Call{{"m", "./m", 8}}},
	{"# a\n// b\n/* c */ /** d **/\nmodule \"m\" { # e\n  /* f */ source = \"./m\" // g\n}\n", []Call{{"m", "./m", 5}}},
	{"locals {\n  t = \"$$${x} %%%{y} $\"\n  u = <<EOT\n$${a} ${b}\nEOT\n}\nmodule \"m\" {\n  source = \"./m\"\n}\n", []Call{{"m", "./m", 8}}},
}

// TestQuickReaderAnswersOrdinaryFiles: the quick reader exists so that
// ordinary files never reach the HCL parser. On each of these it must
// answer, and its answer must be the HCL parser's.
func TestQuickReaderAnswersOrdinaryFiles(t *testing.T) {
	t.Parallel()
	for _, tt := range quickOrdinary {
		got, ok := quickCalls([]byte(tt.src))
		if !ok {
			t.Errorf("the quick reader gave up on:\n%s", tt.src)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("quick reader: %v, want %v for:\n%s", got, tt.want, tt.src)
		}
		if h, ok := hclCalls([]byte(tt.src)); !ok || !reflect.DeepEqual(h, tt.want) {
			t.Errorf("the HCL parser says %v, %v (test is wrong) for:\n%s", h, ok, tt.src)
		}
	}
}

// TestQuickReaderGivesUp: where a quick answer could be wrong (HCL
// rejects the file, or reading it takes more than the quick reader
// knows), it says so, and ParseCalls answers through HCL: the calls
// HCL finds, or an error naming the file's line.
func TestQuickReaderGivesUp(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		src  string
		want []Call // what ParseCalls returns, nil for an error
		line int    // the error's line
	}{
		{"{\n}\n", nil, 1},
		{"1 = 2\n", nil, 1},
		{"a =\n", nil, 1},
		{"a = \"x\nmodule \"m\" {\n  source = \"./m\"\n}\n", nil, 1},
		{"resource \"${x}\" \"y\" {}\n", nil, 1},
		{"foo \"x\"\n", nil, 1},
		{"module \"a\" \"b\" {\n  source = \"./a\"\n}\n", nil, 1},
		{"module \"a\" {\n  1 = 2\n}\n", nil, 2},
		{"module \"a\" {\n  source = \"./a\" + \"b\"\n}\n", nil, 2},
		{"module \"a\" {\n  source = \"./a\"\n  foo bar\n}\n", nil, 3},
		{"module \"a\" {\n  source = \"./a\n}\n", nil, 2},
		{"module \"a\" {\n  source = \"./a", nil, 2},
		{"module \"a\" {\n  source = \"\\u0041\"\n}\n", []Call{{"a", "A", 2}}, 0},
		{"module \"a\" {\n  source = \"./a\"\n  x = \"${var.y\"\n}\n", nil, 3},
		{"module \"a\" {\n  source = \"./a\"\n  x = \"abc", nil, 3},
		{"module \"a\" {\n  source = \"./a\"\n  x = <<-1\n}\n", nil, 3},
		{"module \"a\" {\n  source = \"./a\"\n  x = <<EOT\n  no end\n}\n", nil, 6},
		{"module \"a\" {\n  source = \"./a\"\n  x = [1,\n", nil, 4},
		{"module \"a\" {\n  source = \"./a\"\n  b \"${x}\" {}\n}\n", nil, 3},
		{"module \"a\" {\n  source = \"./a\"\n", nil, 1},
		{"locals {\n  x = \"${\"\n}\nmodule \"m\" {\n  source = \"./m\"\n}\n", nil, 2},
		{"locals {\n  x = [\n}\n", nil, 3},
		{"a = 1 }\n", nil, 1},
		{"module \"a\" {\n  source = \"./a\" x = 1\n}\n", nil, 2},
	} {
		if calls, ok := quickCalls([]byte(tt.src)); ok {
			t.Errorf("the quick reader answered %v for:\n%s", calls, tt.src)
		}
		calls, err := ParseCalls("x.tf", []byte(tt.src))
		if tt.want != nil {
			if err != nil || !reflect.DeepEqual(calls, tt.want) {
				t.Errorf("ParseCalls = %v, %v; want %v for:\n%s", calls, err, tt.want, tt.src)
			}
			continue
		}
		se, ok := err.(*SyntaxError)
		if !ok || se.File != "x.tf" || se.Line != tt.line {
			t.Errorf("ParseCalls = %v, %v; want a syntax error at line %d for:\n%s", calls, err, tt.line, tt.src)
		}
	}
}
