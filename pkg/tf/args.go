package tf

import (
	"fmt"
	"strconv"

	"github.com/atoll-tf/atoll/pkg/env"
)

// ArgError is an argument, from a project's environment, that atoll does
// not give Terraform: rather than drop it, the project is refused.
type ArgError struct {
	Command string
	Arg     env.Arg
	Reason  string
}

func (e *ArgError) Error() string {
	what := "an argument"
	if e.Arg.Flag == "" {
		what = "a positional argument"
	}
	return fmt.Sprintf("%s gives terraform %s %s %q, which atoll does not pass on: %s",
		e.Arg.From, e.Command, what, env.MaskedArg(e.Arg), e.Reason)
}

func boolArg(command string, a env.Arg) (bool, error) {
	if !a.HasValue {
		return true, nil
	}
	b, err := strconv.ParseBool(a.Value)
	if err != nil {
		return false, &ArgError{Command: command, Arg: a, Reason: "the value is not true or false"}
	}
	return b, nil
}

func needValue(command string, a env.Arg) error {
	if !a.HasValue || a.Value == "" {
		return &ArgError{Command: command, Arg: a, Reason: "the flag needs a value"}
	}
	return nil
}

// common handles what every command accepts: flags atoll always gives
// anyway, and positional arguments, which none takes.
func common(command string, a env.Arg) (handled bool, err error) {
	switch a.Flag {
	case "":
		return true, &ArgError{Command: command, Arg: a, Reason: "atoll runs Terraform in the project's scratch checkout, with no directory or plan file argument"}
	case "-no-color":
		return true, nil // always given
	case "-input":
		if b, err := boolArg(command, a); err != nil || b {
			return true, &ArgError{Command: command, Arg: a, Reason: "atoll never lets Terraform prompt (-input=false)"}
		}
		return true, nil
	}
	return false, nil
}

// initArgs checks init's arguments and returns them as Terraform's
// command line has them. -from-module is the caller's (see
// InitOptions.FromModule).
func initArgs(args []env.Arg) ([]string, error) {
	var out []string
	for _, a := range args {
		if ok, err := common("init", a); ok {
			if err != nil {
				return nil, err
			}
			continue
		}
		var err error
		switch a.Flag {
		case "-backend-config", "-lock-timeout", "-plugin-dir", "-from-module":
			err = needValue("init", a)
		case "-backend", "-get", "-upgrade", "-reconfigure", "-force-copy", "-lock":
			_, err = boolArg("init", a)
		default:
			err = &ArgError{Command: "init", Arg: a, Reason: "atoll knows no such init flag to pass on"}
		}
		if err != nil {
			return nil, err
		}
		if a.Flag != "-from-module" {
			out = append(out, a.String())
		}
	}
	return out, nil
}

// planArgs checks plan's arguments and returns them as Terraform's
// command line has them. Those that would change what atoll makes of the
// plan are refused.
func planArgs(args []env.Arg) ([]string, error) {
	var out []string
	for _, a := range args {
		if ok, err := common("plan", a); ok {
			if err != nil {
				return nil, err
			}
			continue
		}
		switch a.Flag {
		case "-var", "-var-file", "-target", "-replace", "-exclude", "-lock-timeout":
			if err := needValue("plan", a); err != nil {
				return nil, err
			}
		case "-parallelism":
			if n, err := strconv.Atoi(a.Value); err != nil || n < 1 {
				return nil, &ArgError{Command: "plan", Arg: a, Reason: "the value is not a positive number"}
			}
		case "-refresh", "-refresh-only", "-lock", "-compact-warnings":
			if _, err := boolArg("plan", a); err != nil {
				return nil, err
			}
		case "-detailed-exitcode":
			continue // always given
		case "-out":
			return nil, &ArgError{Command: "plan", Arg: a, Reason: "atoll writes the plan file itself, next to its record"}
		case "-destroy":
			return nil, &ArgError{Command: "plan", Arg: a, Reason: "atoll plans destroys only of deleted projects (atoll plan --destroy-deleted)"}
		case "-state", "-state-out", "-backup":
			return nil, &ArgError{Command: "plan", Arg: a, Reason: "state files outside the backend are not supported"}
		default:
			return nil, &ArgError{Command: "plan", Arg: a, Reason: "atoll knows no such plan flag to pass on"}
		}
		out = append(out, a.String())
	}
	return out, nil
}

// applyArgs checks apply's arguments and returns them as flags. A saved
// plan fixes everything else.
func applyArgs(args []env.Arg) ([]string, error) {
	var out []string
	for _, a := range args {
		if ok, err := common("apply", a); ok {
			if err != nil {
				return nil, err
			}
			continue
		}
		switch a.Flag {
		case "-auto-approve", "-compact-warnings":
			// Always given / output only.
			continue
		case "-parallelism":
			if n, err := strconv.Atoi(a.Value); err != nil || n < 1 {
				return nil, &ArgError{Command: "apply", Arg: a, Reason: "the value is not a positive number"}
			}
		case "-lock":
			if _, err := boolArg("apply", a); err != nil {
				return nil, err
			}
		case "-lock-timeout":
			if err := needValue("apply", a); err != nil {
				return nil, err
			}
		default:
			return nil, &ArgError{Command: "apply", Arg: a, Reason: "a saved plan is applied as it was made: only -parallelism, -lock and -lock-timeout apply to it"}
		}
		out = append(out, a.String())
	}
	return out, nil
}
