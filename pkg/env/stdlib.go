package env

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// forkFreeStdlib is direnv's stdlib with source_env and _source_up
// replaced by equivalents that fork no subshell, when the stdlib's
// functions they stand for are exactly the ones they were written against
// (direnvFunctions); otherwise the stdlib is returned as it is. direnv's
// source_env forks four subshells per file it sources and _source_up
// three: on a loaded machine each costs as much as a process start, and
// they were most of an evaluation.
func forkFreeStdlib(stdlib string) string {
	for name, sum := range direnvFunctions {
		body, ok := shellFunction(stdlib, name)
		if !ok {
			return stdlib
		}
		h := sha256.Sum256([]byte(body))
		if hex.EncodeToString(h[:]) != sum {
			return stdlib
		}
	}
	s := strings.Replace(stdlib, "\nsource_env() {\n", "\n__direnv_source_env() {\n", 1)
	s = strings.Replace(s, "\n_source_up() {\n", "\n__direnv__source_up() {\n", 1)
	return s + "\n" + forkFree
}

// direnvFunctions are the sha256 of the stdlib functions (direnv 2.32)
// whose behaviour forkFree reproduces: source_env and _source_up, and
// what they call in subshells.
var direnvFunctions = map[string]string{
	"expand_path":   "e45b898304a3c9d69560115423596e8813d8c151353ff022170434d18b93ad58",
	"user_rel_path": "e7f467444071ee768b2c64a06b685849b7fa2f4857fdf88ae9ccd08a2d49a709",
	"find_up":       "807714caa78eb43b269dfa2243785380d0ccb6f2250e89da8ece2755fd99cac8",
	"source_env":    "acf99ac0ad74ebf526e6ccec79053a92ebed4f2444e7e0f4b61eb3a2b4d504a6",
	"_source_up":    "47f038037057845194287bf31a57eb4314d54ad2349cbf09832d9d3c947c026d",
}

// shellFunction is the text of the top-level function name in a script,
// from its name to its closing brace.
func shellFunction(script, name string) (string, bool) {
	i := strings.Index(script, "\n"+name+"() {\n")
	if i < 0 {
		return "", false
	}
	j := strings.Index(script[i+1:], "\n}\n")
	if j < 0 {
		return "", false
	}
	return script[i+1 : i+1+j+2], true
}

// forkFree defines source_env and _source_up. Each computes what direnv's
// computes (the same values printed, pushed and sourced, the same local
// variables visible to the file sourced); where a shell option, a function
// standing for pwd, cd, pushd or popd, or the file system could make the
// two differ, direnv's own function (renamed) runs instead.
const forkFree = `__atoll_direnv_own() {
  [[ -o physical || -o errexit || -o nounset || -o xtrace || -o functrace || -o errtrace ]] ||
    declare -F pwd >/dev/null || declare -F cd >/dev/null ||
    declare -F pushd >/dev/null || declare -F popd >/dev/null ||
    [[ $PWD != /* || $PWD == //* || ! $PWD -ef . ]]
}
# REPLY is what $(user_rel_path "$1") prints.
__atoll_user_rel_path() {
  local abs_path=${1#-} opts
  REPLY=
  if [[ -z $abs_path ]]; then return 0; fi
  if [[ -n $HOME ]]; then
    local rel_path=${abs_path#$HOME}
    if [[ $rel_path != "$abs_path" ]]; then
      abs_path="~$rel_path"
    fi
  fi
  opts=${abs_path#-}
  if [[ $abs_path == -* && -n $opts && -z ${opts//[neE]/} ]]; then
    return 0 # echo takes it for its options
  fi
  while [[ $abs_path == *$'\n' ]]; do abs_path=${abs_path%$'\n'}; done
  REPLY=$abs_path
}
# envrc (the caller's) is what $(cd .. && (find_up "$1" || true)) prints,
# from the logical parents of PWD; status 1 where one cannot be entered.
__atoll_find_up() {
  local d=$PWD p
  envrc=
  while true; do
    p=${d%/*}
    if [[ -z $p ]]; then p=/; fi
    if [[ ! -d $p || ! -x $p ]]; then return 1; fi
    d=$p
    if [[ -f $d/$1 ]]; then
      envrc=$d/$1
      while [[ $envrc == *$'\n' ]]; do envrc=${envrc%$'\n'}; done
      return 0
    fi
    if [[ $d == / ]]; then return 0; fi
  done
}
source_env() {
  if __atoll_direnv_own || has cygpath; then
    __direnv_source_env "$@"
    return
  fi
  local rcpath=${1/#\~/$HOME}
  local REPLY
  if [[ -d $rcpath ]]; then
    rcpath=$rcpath/.envrc
  fi
  if [[ ! -e $rcpath ]]; then
    log_status "referenced $rcpath does not exist"
    return 1
  fi
  realpath.dirname "$rcpath"
  local rcpath_dir=$REPLY
  realpath.basename "$rcpath"
  local rcpath_base=$REPLY
  local rcfile
  __atoll_user_rel_path "$rcpath"
  rcfile=$REPLY
  watch_file "$rcpath"
  pushd . >/dev/null || return 1
  pushd "$rcpath_dir" >/dev/null || return 1
  if [[ -f ./$rcpath_base ]]; then
    realpath.absolute "" "$rcpath"
    while [[ $REPLY == *$'\n' ]]; do REPLY=${REPLY%$'\n'}; done
    __atoll_user_rel_path "$REPLY"
    log_status "loading $REPLY"
    REPLY=$rcpath_base
    . "./$rcpath_base"
  else
    log_status "referenced $rcfile does not exist"
  fi
  popd >/dev/null || return 1
  popd >/dev/null || return 1
}
_source_up() {
  if __atoll_direnv_own || [[ ${1:-.envrc} == /* ]]; then
    __direnv__source_up "$@"
    return
  fi
  local envrc file=${1:-.envrc}
  local ok_if_not_exist=${2}
  if ! __atoll_find_up "$file"; then
    __direnv__source_up "$@"
    return
  fi
  if [[ -n $envrc ]]; then
    source_env "$envrc"
  elif $ok_if_not_exist; then
    return 0
  else
    log_error "No ancestor $file found"
    return 1
  fi
}
`
