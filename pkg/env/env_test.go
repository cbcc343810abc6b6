package env

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestFromCallerUndoesDirenvAndDropsProjectSettings(t *testing.T) {
	// The shell had AWS_REGION=us-east-1 and no TF_CLI_*; direnv, standing
	// in /conf/acm, changed the region and set acm's backend key.
	diff := EncodeDiff(&Diff{
		Prev: map[string]string{"AWS_REGION": "us-east-1"},
		Next: map[string]string{"AWS_REGION": "eu-west-1", "TF_CLI_INIT_BACKEND_CONFIG_KEY": "acm/terraform.tfstate", "ACM_ONLY": "1"},
	})
	environ := []string{
		"PATH=/bin", "HOME=/root", "AWS_REGION=eu-west-1", "ACM_ONLY=1",
		"TF_CLI_INIT_BACKEND_CONFIG_KEY=acm/terraform.tfstate",
		"DIRENV_DIFF=" + diff, "DIRENV_DIR=-/conf/acm", "DIRENV_FILE=/conf/acm/.envrc", "DIRENV_CONFIG=/etc/direnv",
		// Set in the shell itself, not by direnv.
		"TF_CLI_ARGS_init=-backend-config=path=/other.tfstate", "TF_DATA_DIR=/tmp/d", "TF_WORKSPACE=prod",
		"TF_FROM_MODULE=git::x", "TF_BUCKET_PREFIX=acm", "TF_STATE_FILE=t.tfstate", "TF_CLI_PLAN_PARALLELISM=2",
		"TF_CLI_DEFAULT_NO_COLOR=true", "TF_CLI_ARGS=-no-color",
		// The user's, not a project's.
		"TF_CLI_CONFIG_FILE=/dev/null", "TF_PLUGIN_CACHE_DIR=/cache", "TF_VAR_team=core",
	}
	c, err := FromCaller(environ, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"PATH": "/bin", "HOME": "/root", "AWS_REGION": "us-east-1", "DIRENV_CONFIG": "/etc/direnv",
		"TF_CLI_CONFIG_FILE": "/dev/null", "TF_PLUGIN_CACHE_DIR": "/cache", "TF_VAR_team": "core",
	}
	if !reflect.DeepEqual(c.Base, want) {
		t.Errorf("base:\n got %v\nwant %v", c.Base, want)
	}
	if w := []string{"ACM_ONLY", "AWS_REGION", "TF_CLI_INIT_BACKEND_CONFIG_KEY"}; !reflect.DeepEqual(c.Undone, w) {
		t.Errorf("undone %v, want %v", c.Undone, w)
	}
	wantDropped := []string{"TF_BUCKET_PREFIX", "TF_CLI_ARGS", "TF_CLI_ARGS_init", "TF_CLI_DEFAULT_NO_COLOR", "TF_CLI_PLAN_PARALLELISM", "TF_DATA_DIR", "TF_FROM_MODULE", "TF_STATE_FILE", "TF_WORKSPACE"}
	if !reflect.DeepEqual(c.Dropped, wantDropped) {
		t.Errorf("dropped %v, want %v", c.Dropped, wantDropped)
	}

	c, err = FromCaller(environ, []string{"TF_CLI_ARGS_*", "TF_DATA_DIR"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Base["TF_CLI_ARGS_init"] != "-backend-config=path=/other.tfstate" || c.Base["TF_DATA_DIR"] != "/tmp/d" {
		t.Errorf("env.pass did not pass: %v", c.Base)
	}
	if w := []string{"TF_CLI_ARGS_init", "TF_DATA_DIR"}; !reflect.DeepEqual(c.Passed, w) {
		t.Errorf("passed %v, want %v", c.Passed, w)
	}
	if slices.Contains(c.Dropped, "TF_DATA_DIR") {
		t.Errorf("a passed variable is listed as dropped: %v", c.Dropped)
	}
}

func TestFromCallerBadDiff(t *testing.T) {
	_, err := FromCaller([]string{"DIRENV_DIFF=not-base64!"}, nil)
	if err == nil || !strings.Contains(err.Error(), "DIRENV_DIFF") {
		t.Fatalf("got %v", err)
	}
}

func TestArgs(t *testing.T) {
	for _, tc := range []struct {
		name string
		vars map[string]string
		cmd  string
		want []string
	}{
		{"backend config", map[string]string{"TF_CLI_INIT_BACKEND_CONFIG_KEY": "x", "TF_CLI_INIT_BACKEND_CONFIG_DYNAMODB_TABLE": "locks"}, "init",
			[]string{"-backend-config=dynamodb_table=locks", "-backend-config=key=x"}},
		{"from module", map[string]string{"TF_CLI_INIT_FROM_MODULE": "git::file:///m//aws/acm?ref=tags/0.1.0"}, "init",
			[]string{"-from-module=git::file:///m//aws/acm?ref=tags/0.1.0"}},
		{"plan flag", map[string]string{"TF_CLI_PLAN_PARALLELISM": "2", "TF_CLI_PLAN_REFRESH": "true"}, "plan",
			[]string{"-parallelism=2", "-refresh"}},
		{"other command's flags are not this one's", map[string]string{"TF_CLI_PLAN_PARALLELISM": "2", "TF_CLI_INIT_UPGRADE": "true"}, "apply", nil},
		{"default flags go to every command", map[string]string{"TF_CLI_DEFAULT_NO_COLOR": "true"}, "apply", []string{"-no-color"}},
		{"positional", map[string]string{"TF_CLI_PLAN": "cache", "TF_CLI_PLAN_LOCK": "false"}, "plan", []string{"-lock=false", "cache"}},
		{"TF_CLI_ARGS words", map[string]string{"TF_CLI_ARGS_plan": `-var 'name=a b' -var-file="x y.tfvars" --lock=false`}, "plan",
			[]string{"-var=name=a b", "-var-file=x y.tfvars", "-lock=false"}},
		{"use tfenv ran: its TF_CLI_ARGS_init holds the inputs once", map[string]string{
			"TF_CLI_INIT_BACKEND_CONFIG_KEY": "acm/terraform.tfstate", "TF_CLI_ARGS_init": "-backend-config=key=acm/terraform.tfstate"}, "init",
			[]string{"-backend-config=key=acm/terraform.tfstate"}},
		{"TF_CLI_ARGS before TF_CLI_ARGS_cmd", map[string]string{"TF_CLI_ARGS": "-no-color", "TF_CLI_ARGS_init": "-upgrade"}, "init",
			[]string{"-no-color", "-upgrade"}},
		{"not tfenv's", map[string]string{"TF_CLI_CONFIG_FILE": "/dev/null"}, "init", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args, err := Args(tc.vars, tc.cmd)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range args {
				got = append(got, a.String())
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestArgsNameTheirVariable(t *testing.T) {
	args, err := Args(map[string]string{"TF_CLI_ARGS_plan": "-out=x", "TF_CLI_PLAN_TARGET": "a.b"}, "plan")
	if err != nil {
		t.Fatal(err)
	}
	if args[0].From != "TF_CLI_ARGS_plan" || args[1].From != "TF_CLI_PLAN_TARGET" {
		t.Errorf("got %+v", args)
	}
	if _, err := Args(map[string]string{"TF_CLI_ARGS_plan": `-var 'x`}, "plan"); err == nil || !strings.Contains(err.Error(), "TF_CLI_ARGS_plan") {
		t.Errorf("unterminated quote: %v", err)
	}
}

func TestForProject(t *testing.T) {
	c := &Caller{Base: map[string]string{"PATH": "/bin", "AWS_REGION": "us-east-1", "GONE": "x", "TF_VAR_team": "core", "SHLVL": "2", "TF_VAR_path": "/bin"}}
	s := func(v string) *string { return &v }
	p, err := ForProject(c, map[string]*string{
		"TF_CLI_INIT_BACKEND_CONFIG_PATH": s("/s/acm.tfstate"),
		"TF_CLI_ARGS_init":                s("-backend-config=path=/s/acm.tfstate"),
		"TF_VAR_stage":                    s("prod"),
		"GONE":                            nil,
		"DIRENV_DIFF":                     s("xyz"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.Vars["GONE"]; ok {
		t.Error("a variable the .envrc unset is still there")
	}
	if _, ok := p.Vars["TF_CLI_ARGS_init"]; ok {
		t.Error("TF_CLI_ARGS_init is left in the environment as well as in the arguments")
	}
	if _, ok := p.Vars["DIRENV_DIFF"]; ok {
		t.Error("direnv's bookkeeping reached the project")
	}
	if got := p.Args["init"]; len(got) != 1 || got[0].String() != "-backend-config=path=/s/acm.tfstate" {
		t.Errorf("init args %v", got)
	}
	if w := []string{"GONE", "TF_CLI_ARGS_init", "TF_CLI_INIT_BACKEND_CONFIG_PATH", "TF_VAR_stage"}; !reflect.DeepEqual(p.Envrc, w) {
		t.Errorf("envrc %v, want %v", p.Envrc, w)
	}

	d1 := p.Digests("salt")
	for _, k := range []string{"SHLVL", "TF_VAR_path"} {
		if _, ok := d1[k]; ok {
			t.Errorf("the plan is bound to %s, a variable of the shell (or tfenv's copy of one)", k)
		}
	}
	for _, k := range []string{"GONE", "TF_CLI_ARGS_init", "TF_VAR_team", "TF_VAR_stage"} {
		if _, ok := d1[k]; !ok {
			t.Errorf("the plan is not bound to %s", k)
		}
	}
	for _, v := range d1 {
		if strings.Contains(v, "prod") || strings.Contains(v, "acm") {
			t.Errorf("a digest holds a value: %s", v)
		}
	}
	p2, _ := ForProject(c, map[string]*string{"TF_CLI_INIT_BACKEND_CONFIG_PATH": s("/s/other.tfstate"), "TF_VAR_stage": s("prod")})
	d2 := p2.Digests("salt")
	if got, w := Changed(d1, d2), []string{"GONE", "TF_CLI_ARGS_init", "TF_CLI_INIT_BACKEND_CONFIG_PATH"}; !reflect.DeepEqual(got, w) {
		t.Errorf("changed %v, want %v", got, w)
	}
	if Hash(d1) == Hash(d2) {
		t.Error("different environments hash alike")
	}
	if Hash(d1) != Hash(p.Digests("salt")) {
		t.Error("the same environment hashes differently")
	}
}

func TestMasking(t *testing.T) {
	for name, secret := range map[string]bool{
		"AWS_SECRET_ACCESS_KEY": true, "AWS_ACCESS_KEY_ID": true, "AWS_SESSION_TOKEN": true, "GITHUB_TOKEN": true,
		"TF_VAR_db_password": true, "TF_CLI_INIT_BACKEND_CONFIG_KEY": false, "GIT_AUTHOR_NAME": false, "AWS_REGION": false,
	} {
		if Secret(name) != secret {
			t.Errorf("Secret(%s) = %v", name, !secret)
		}
	}
	for a, want := range map[Arg]string{
		{Flag: "-backend-config", Value: "access_key=AKIA", HasValue: true, From: "TF_CLI_INIT_BACKEND_CONFIG_ACCESS_KEY"}:    "-backend-config=access_key=***",
		{Flag: "-backend-config", Value: "key=acm/terraform.tfstate", HasValue: true, From: "TF_CLI_INIT_BACKEND_CONFIG_KEY"}: "-backend-config=key=acm/terraform.tfstate",
		{Value: "db_password=hunter2", From: "TF_CLI_ARGS_plan"}:                                                              "db_password=***",
		{Flag: "-no-color", From: "TF_CLI_ARGS"}:                                                                              "-no-color",
	} {
		if got := MaskedArg(a); got != want {
			t.Errorf("MaskedArg(%+v) = %s, want %s", a, got, want)
		}
	}
}
