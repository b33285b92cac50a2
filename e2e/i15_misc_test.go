package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/skiff-dev/skiff/internal/units"
)

// i15miscStore is a store of its own with busybox pulled: prune and
// system df must see only what the test made.
func i15miscStore(t *testing.T) *store {
	t.Helper()
	requireEnv(t)
	s := newStore(t)
	s.must(t, "pull", "-q", fx.busybox)
	return s
}

// i15miscShort is an image id as docker shows it: 12 hex digits.
func i15miscShort(id string) string { return strings.TrimPrefix(id, "sha256:")[:12] }

// i15miscImageIDs is every image record's id in the store.
func i15miscImageIDs(t *testing.T, s *store) []string {
	t.Helper()
	var ids []string
	for _, l := range strings.Fields(s.must(t, "images", "-a", "-q", "--no-trunc").stdout) {
		if !slices.Contains(ids, l) {
			ids = append(ids, l)
		}
	}
	return ids
}

// i15miscCommit commits container ctr (named name, or untagged when name
// is "") and returns the new image's id.
func i15miscCommit(t *testing.T, s *store, ctr, name string, args ...string) string {
	t.Helper()
	args = append(append([]string{"commit"}, args...), ctr)
	if name != "" {
		args = append(args, name)
	}
	id := strings.TrimSpace(s.must(t, args...).stdout)
	if !strings.HasPrefix(id, "sha256:") {
		t.Fatalf("commit printed %q, want an image id", id)
	}
	return id
}

// TestI15MiscHistory: history of a committed image is docker's table: the
// image's own step on top (its id, "skiff commit", the -m comment, the size
// of the layer it made), the pulled base's steps <missing> below; -q,
// --no-trunc, -H=false, --format and json as docker.
func TestI15MiscHistory(t *testing.T) {
	s := i15miscStore(t)
	name := uniqueName(t)
	r := s.skiff(nil, "run", "--name", name, fx.busybox, "sh", "-c", "head -c 3000 /dev/zero > /made")
	if r.code != 0 {
		t.Fatalf("run: %v", r)
	}
	s.cleanup(t, name)
	id := i15miscCommit(t, s, name, "e2e/history:1", "-m", "made by the e2e test")

	out := s.must(t, "history", "e2e/history:1").stdout
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if !regexp.MustCompile(`^IMAGE +CREATED +CREATED BY +SIZE +COMMENT$`).MatchString(lines[0]) {
		t.Fatalf("header %q, want docker's columns\n%s", lines[0], out)
	}
	top := regexp.MustCompile(`^` + i15miscShort(id) + ` +(Less than a second|\d+ seconds) ago +skiff commit +(\S+) +made by the e2e test$`).FindStringSubmatch(lines[1])
	if top == nil {
		t.Fatalf("top row %q: want the committed image's id, skiff commit, its size and comment\n%s", lines[1], out)
	}
	if top[2] == "0B" {
		t.Errorf("the commit's layer (a 3000-byte file) shows size 0B\n%s", out)
	}
	for _, l := range lines[2:] {
		if !strings.HasPrefix(l, "<missing> ") {
			t.Errorf("a pulled base's step %q should be <missing>\n%s", l, out)
		}
	}

	if q := s.must(t, "history", "-q", "e2e/history:1").stdout; strings.Split(q, "\n")[0] != i15miscShort(id) {
		t.Errorf("history -q: %q, want the image id first", q)
	}
	if nt := s.must(t, "history", "--no-trunc", "--format", "{{.ID}}", "e2e/history:1").stdout; strings.Split(nt, "\n")[0] != id {
		t.Errorf("history --no-trunc: %q, want the full id first", nt)
	}
	raw := strings.Split(s.must(t, "history", "-H=false", "--format", "{{.CreatedSince}}|{{.Size}}", "e2e/history:1").stdout, "\n")[0]
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)\|\d+$`).MatchString(raw) {
		t.Errorf("history -H=false: %q, want an RFC 3339 date and a byte count", raw)
	}
	var row map[string]string
	js := strings.Split(s.must(t, "history", "--format", "json", "e2e/history:1").stdout, "\n")[0]
	if err := json.Unmarshal([]byte(js), &row); err != nil || row["CreatedBy"] != "skiff commit" || row["Comment"] != "made by the e2e test" {
		t.Errorf("history --format json: %q (%v)", js, err)
	}

	r = s.skiff(nil, "history", "e2e/nope")
	oneLineError(t, r, 1)
	if !strings.Contains(r.stderr, "No such image: e2e/nope:latest") {
		t.Errorf("history of no image: %v", r)
	}
}

// TestI15MiscImagePrune: image prune removes the dangling images only
// (never a tagged one, never one a container uses, even untagged), -a
// every image no container uses; docker's question, and its output.
func TestI15MiscImagePrune(t *testing.T) {
	s := i15miscStore(t)
	c1, c2 := uniqueName(t), uniqueName(t)
	for _, c := range []string{c1, c2} {
		if r := s.skiff(nil, "run", "--name", c, fx.busybox, "sh", "-c", "echo "+c+" > /made"); r.code != 0 {
			t.Fatalf("run: %v", r)
		}
		s.cleanup(t, c)
	}
	tagged := i15miscCommit(t, s, c1, "e2e/keep:1")
	dangling := i15miscCommit(t, s, c1, "", "-c", "LABEL e2e=dangling")
	usedUntagged := i15miscCommit(t, s, c2, "", "-c", "LABEL e2e=used")
	s.create(t, usedUntagged, "true")
	before := i15miscImageIDs(t, s)
	if len(before) != 4 {
		t.Fatalf("want 4 images before pruning, got %v", before)
	}

	r := s.skiff(strings.NewReader("n\n"), "image", "prune")
	if r.code != 0 || r.stdout != "WARNING! This will remove all dangling images.\nAre you sure you want to continue? [y/N] " {
		t.Errorf("image prune answered no: %v", r)
	}
	if got := i15miscImageIDs(t, s); len(got) != 4 {
		t.Errorf("image prune answered no removed images: %v", got)
	}
	r = s.skiff(nil, "image", "prune", "-f", "--filter", "label=e2e=none")
	if r.stdout != "Total reclaimed space: 0B\n" {
		t.Errorf("a label no image has: %v", r)
	}

	r = s.must(t, "image", "prune", "-f")
	if !strings.HasPrefix(r.stdout, "Deleted Images:\ndeleted: "+dangling+"\n") || !strings.Contains(r.stdout, "\n\nTotal reclaimed space: ") {
		t.Errorf("image prune: want the dangling image deleted in docker's words: %v", r)
	}
	got := i15miscImageIDs(t, s)
	if slices.Contains(got, dangling) || !slices.Contains(got, tagged) || !slices.Contains(got, usedUntagged) || !slices.Contains(got, fx.busyboxID) {
		t.Errorf("after image prune: %v; want all but the dangling %s", got, dangling)
	}

	r = s.must(t, "image", "prune", "-a", "-f")
	if !strings.HasPrefix(r.stdout, "Deleted Images:\nuntagged: e2e/keep:1\ndeleted: "+tagged+"\n") {
		t.Errorf("image prune -a: want the unused tagged image untagged and deleted: %v", r)
	}
	got = i15miscImageIDs(t, s)
	if !slices.Equal(got, []string{usedUntagged}) && !slices.Equal(got, []string{fx.busyboxID, usedUntagged}) && !slices.Equal(got, []string{usedUntagged, fx.busyboxID}) {
		t.Errorf("after image prune -a: %v; want only the images containers use (busybox, %s)", got, usedUntagged)
	}
	if !slices.Contains(got, fx.busyboxID) {
		t.Errorf("image prune -a removed busybox, which containers %s and %s use", c1, c2)
	}
	// The containers' images still run them.
	if r := s.skiff(nil, "start", "-a", c2); r.code != 0 || r.stdout != "" {
		t.Errorf("start after prune: %v", r)
	}
}

// TestI15MiscSystemDf: system df counts what the store holds (a layer two
// images share once, a container's writes, a volume's contents), -v lists
// each, and system prune removes the stopped container and, with -a, the
// image nothing uses any more, printing docker's question and lists.
func TestI15MiscSystemDf(t *testing.T) {
	s := i15miscStore(t)
	ctr, vol := uniqueName(t), uniqueName(t)
	s.must(t, "volume", "create", vol)
	if r := s.skiff(nil, "run", "--name", ctr, "-v", vol+":/data", fx.busybox, "sh", "-c",
		"head -c 1000000 /dev/zero > /big; head -c 2000 /dev/zero > /data/x"); r.code != 0 {
		t.Fatalf("run: %v", r)
	}
	s.cleanup(t, ctr)
	t.Cleanup(func() { s.skiff(nil, "volume", "rm", "-f", vol) })

	var layers int64
	files, _ := filepath.Glob(filepath.Join(s.root, "layers", "*", "layer.json"))
	for _, f := range files {
		var li struct{ Size int64 }
		b, _ := os.ReadFile(f)
		if json.Unmarshal(b, &li) != nil || li.Size == 0 {
			t.Fatalf("layer record %s: %s", f, b)
		}
		layers += li.Size
	}
	want := map[string]string{
		"Images":        "1 1 " + units.HumanSize(layers) + " 0B (0%)",
		"Containers":    "1 0 1MB 1MB (100%)",
		"Local Volumes": "1 1 2kB 0B (0%)",
		"Build Cache":   "0 0 0B 0B",
	}
	i15miscCheckDf(t, s, want)

	v := s.must(t, "system", "df", "-v").stdout
	for _, re := range []string{
		`(?m)^Images space usage:\n\nREPOSITORY +TAG +IMAGE ID +CREATED +SIZE +SHARED SIZE +UNIQUE SIZE +CONTAINERS\n.*library/busybox +latest +` + i15miscShort(fx.busyboxID) + ` .* 0B +\S+ +1\n`,
		`(?m)^Containers space usage:\n\nCONTAINER ID +IMAGE +COMMAND +LOCAL VOLUMES +SIZE +CREATED +STATUS +NAMES\n.* 1 +1MB .* ` + ctr + `\n`,
		`(?m)^Local Volumes space usage:\n\nVOLUME NAME +LINKS +SIZE\n` + vol + ` +1 +2kB\n`,
		`(?m)^Build cache usage: 0B\n\nCACHE ID +CACHE TYPE +SIZE +CREATED +LAST USED +USAGE +SHARED\n`,
	} {
		if !regexp.MustCompile(re).MatchString(v) {
			t.Errorf("system df -v: no match for %q in\n%s", re, v)
		}
	}

	r := s.skiff(strings.NewReader("n\n"), "system", "prune")
	wantQ := "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n" +
		"  - all dangling images\n  - unused build cache\n\nAre you sure you want to continue? [y/N] "
	if r.code != 0 || r.stdout != wantQ {
		t.Errorf("system prune answered no: %v\nwant stdout %q", r, wantQ)
	}
	ctrID := strings.TrimSpace(s.must(t, "ps", "-aq", "--no-trunc", "--filter", "name="+ctr).stdout)
	r = s.must(t, "system", "prune", "-f")
	if r.stdout != "Deleted Containers:\n"+ctrID+"\n\nTotal reclaimed space: 1MB\n" {
		t.Errorf("system prune: %v", r)
	}
	want["Containers"] = "0 0 0B 0B"
	want["Images"] = "1 0 " + units.HumanSize(layers) + " " + units.HumanSize(layers) + " (100%)"
	want["Local Volumes"] = "1 0 2kB 2kB (100%)"
	i15miscCheckDf(t, s, want)

	r = s.must(t, "system", "prune", "-a", "-f", "--volumes")
	if !strings.Contains(r.stdout, "Deleted Images:\nuntagged: "+fx.busybox+"\n") ||
		!strings.HasSuffix(r.stdout, "\nTotal reclaimed space: "+units.HumanSize(layers)+"\n") {
		t.Errorf("system prune -a: want busybox gone: %v", r)
	}
	if got := i15miscImageIDs(t, s); len(got) != 0 {
		t.Errorf("images after system prune -a: %v", got)
	}
	if r := s.skiff(nil, "volume", "inspect", vol); r.code != 0 {
		t.Errorf("system prune --volumes removed the named volume %s (only anonymous ones go): %v", vol, r)
	}
}

// i15miscCheckDf compares system df's rows (TYPE: TOTAL ACTIVE SIZE RECLAIMABLE).
func i15miscCheckDf(t *testing.T, s *store, want map[string]string) {
	t.Helper()
	out := s.must(t, "system", "df").stdout
	if !regexp.MustCompile(`^TYPE +TOTAL +ACTIVE +SIZE +RECLAIMABLE\n`).MatchString(out) {
		t.Errorf("system df header:\n%s", out)
	}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		f := regexp.MustCompile(` {2,}`).Split(strings.TrimSpace(l), -1)
		if w, ok := want[f[0]]; !ok || strings.Join(f[1:], " ") != w {
			t.Errorf("system df row %q, want %s %s\n%s", l, f[0], w, out)
		}
	}
}

// TestI15MiscSearch: REGISTRY/TERM searches that registry's catalog (the
// test registry holds library/busybox); a bare term asks Hub's /v1/search,
// here a loopback server speaking it, named by the test hook.
func TestI15MiscSearch(t *testing.T) {
	requireEnv(t)
	s := newStore(t)
	out := s.must(t, "search", reg.Addr+"/busy").stdout
	if !regexp.MustCompile(`^NAME +DESCRIPTION +STARS +OFFICIAL\n` + regexp.QuoteMeta(reg.Addr) + `/library/busybox +tags: latest +0 *\n$`).MatchString(out) {
		t.Errorf("search of the registry's catalog:\n%s", out)
	}

	var queries []string
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/search" {
			http.NotFound(w, r)
			return
		}
		queries = append(queries, r.URL.RawQuery)
		json.NewEncoder(w).Encode(map[string]any{"num_results": 2, "query": r.URL.Query().Get("q"), "results": []map[string]any{
			{"name": "busybox", "description": "Busybox base image, with a description longer than forty-five characters", "star_count": 3400, "is_official": true, "is_automated": false},
			{"name": "someone/busybox", "description": "not official", "star_count": 3, "is_official": false, "is_automated": true},
		}})
	}))
	defer hub.Close()
	env := []string{"SKIFF_TEST_HUB_SEARCH=" + hub.URL}
	r := s.skiffEnv(nil, env, "search", "busybox")
	wantTable := regexp.MustCompile(`^NAME +DESCRIPTION +STARS +OFFICIAL\n` +
		`busybox +Busybox base image, with a description longe… +3400 +\[OK\]\n` +
		`someone/busybox +not official +3 *\n$`)
	if r.code != 0 || !wantTable.MatchString(r.stdout) {
		t.Errorf("search of the fake Hub: %v", r)
	}
	r = s.skiffEnv(nil, env, "search", "--limit", "1", "--filter", "is-official=true", "--no-trunc", "--format", "{{.Name}}|{{.Description}}|{{.StarCount}}|{{.IsOfficial}}", "busybox")
	if r.stdout != "busybox|Busybox base image, with a description longer than forty-five characters|3400|[OK]\n" {
		t.Errorf("search --limit 1 --filter --no-trunc --format: %v", r)
	}
	if len(queries) != 2 || queries[0] != "q=busybox&n=25" || queries[1] != "q=busybox&n=1" {
		t.Errorf("Hub was asked %q, want docker's q= and n= (25, then 1)", queries)
	}
	r = s.skiffEnv(nil, env, "search", "--filter", "stars=10", "--format", "{{.Name}}", "busybox")
	if r.stdout != "busybox\n" {
		t.Errorf("search --filter stars=10: %v", r)
	}
	hub.Close()
	r = s.skiffEnv(nil, env, "search", "busybox")
	oneLineError(t, r, 1)
	if !strings.HasPrefix(r.stderr, "skiff: Error response from daemon: Get \""+hub.URL+"/v1/search?q=busybox&n=25\": ") {
		t.Errorf("search with Hub unreachable: %v", r)
	}
	r = s.skiff(nil, "search", "--limit", "101", "busybox")
	oneLineError(t, r, 1)
	if !strings.Contains(r.stderr, "limit 101 is outside the range of [1, 100]") {
		t.Errorf("search --limit 101: %v", r)
	}
}

// TestI15MiscCompletion: the bash script loads in an interactive bash and
// its function proposes verbs, a verb's flags, and the names of this
// store's containers and images (asked of skiff with the --root typed).
func TestI15MiscCompletion(t *testing.T) {
	s := i15miscStore(t)
	name := uniqueName(t)
	s.create(t, "--name", name, fx.busybox, "true")
	bin := t.TempDir()
	if err := os.Symlink(skiffBin, filepath.Join(bin, "skiff")); err != nil {
		t.Fatal(err)
	}
	global := "--root " + s.root + " --runroot " + s.runroot + " --config " + s.config
	script := `source <(skiff completion bash) || exit 9
complete -p skiff
t() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=(); _skiff; echo "$*=> ${COMPREPLY[*]}"; }
t skiff hist
t skiff system ""
t skiff image prune --a
t skiff ` + global + ` rm ""
t skiff ` + global + ` history ""
t skiff ` + global + ` run -e A=1 ""
`
	cmd := exec.Command("bash", "--noprofile", "--norc", "-i", "-c", script)
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "LC_ALL=C")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bash -i: %v\n%s", err, out)
	}
	img := fx.busybox
	for _, want := range []string{
		"complete -F _skiff skiff\n",
		"skiff hist=> history\n",
		"skiff system => info df prune\n",
		"skiff image prune --a=> --all\n",
		" rm => " + name + "\n",
		" history => " + img + "\n",
		" run -e A=1 => " + img + "\n",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("completion: no %q in\n%s", want, out)
		}
	}
	i15miscOtherShells(t, s, bin, name)
	r := s.skiff(nil, "completion", "tcsh")
	oneLineError(t, r, 1)
}

// i15miscOtherShells loads the zsh and fish scripts in those shells where
// they are installed (the machine may have neither: the check is then
// their size only) and asks for a verb and a container name.
func i15miscOtherShells(t *testing.T, s *store, bin, name string) {
	t.Helper()
	global := []string{"--root", s.root, "--runroot", s.runroot, "--config", s.config}
	cases := map[string]string{
		// zsh runs the bash function under bashcompinit; zsh itself
		// filters the words by what is typed.
		"zsh": `autoload -U compinit && compinit -u; source <(skiff completion zsh)
emulate sh -c 't() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=(); _skiff; echo "${COMPREPLY[*]}"; }'
emulate sh -c 't skiff hist'
emulate sh -c 't skiff ` + strings.Join(global, " ") + ` rm ""'`,
		"fish": `skiff completion fish | source
complete -C "skiff hist"
complete -C "skiff ` + strings.Join(global, " ") + ` rm "`,
	}
	for shell, script := range cases {
		r := s.must(t, "completion", shell)
		if len(r.stdout) < 1000 {
			t.Errorf("completion %s: %v", shell, r)
		}
		if _, err := exec.LookPath(shell); err != nil {
			t.Logf("%s not installed: its script is not loaded", shell)
			continue
		}
		args := []string{"-c", script}
		if shell == "zsh" {
			args = []string{"-f", "-c", script}
		}
		cmd := exec.Command(shell, args...)
		cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "HOME="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "history") || !strings.Contains(string(out), name) {
			t.Errorf("%s completion: want history and %s proposed: %v\n%s", shell, name, err, out)
		}
	}
}

// TestI15MiscHistoryOfBuild: the steps of a built image carry the ids of
// the images the build made them as (the image itself, its intermediate
// one, the base it started FROM), as docker's classic builder shows them;
// the base's own older steps are <missing>.
func TestI15MiscHistoryOfBuild(t *testing.T) {
	s := i15miscStore(t)
	dir := t.TempDir()
	df := "FROM " + fx.busybox + "\nENV E2E=1\nRUN head -c 5000 /dev/zero > /made\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	s.must(t, "build", "-q", "-t", "e2e/built:1", dir)
	out := s.must(t, "history", "--no-trunc", "--format", "{{.ID}}|{{.CreatedBy}}|{{.Size}}", "e2e/built:1").stdout
	rows := strings.Split(strings.TrimRight(out, "\n"), "\n")
	built := strings.TrimSpace(s.must(t, "image", "inspect", "-f", "{{.Id}}", "e2e/built:1").stdout)
	if len(rows) < 3 {
		t.Fatalf("history of a two-step build on busybox:\n%s", out)
	}
	run, env, base := strings.Split(rows[0], "|"), strings.Split(rows[1], "|"), strings.Split(rows[2], "|")
	if run[0] != built || !strings.Contains(run[1], "head -c 5000") || run[2] == "0B" {
		t.Errorf("RUN step %q: want the built image %s and its layer's size\n%s", rows[0], built, out)
	}
	if env[0] == "<missing>" || env[0] == built || !strings.Contains(env[1], "E2E=1") || env[2] != "0B" {
		t.Errorf("ENV step %q: want the intermediate image's id and no size\n%s", rows[1], out)
	}
	if base[0] != fx.busyboxID {
		t.Errorf("the base's top step %q: want busybox's id %s\n%s", rows[2], fx.busyboxID, out)
	}
	for _, r := range rows[3:] {
		if !strings.HasPrefix(r, "<missing>|") {
			t.Errorf("an older step of the base %q: want <missing>\n%s", r, out)
		}
	}
}
