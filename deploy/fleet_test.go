package deploy_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v4"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/horizon/reconciler/internal/config"
	"github.com/horizon/reconciler/internal/daemon"
)

// build runs kustomize on dir as `kubectl kustomize dir` does and returns
// its objects.
func build(t *testing.T, dir string) []map[string]any {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	res, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	out, err := res.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	return documents(t, "kustomize build "+dir, out)
}

// documents decodes every document of a YAML stream.
func documents(t *testing.T, where string, data []byte) []map[string]any {
	t.Helper()
	var objs []map[string]any
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var o map[string]any
		if err := dec.Decode(&o); errors.Is(err, io.EOF) {
			return objs
		} else if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		objs = append(objs, o)
	}
}

// find returns the object of kind and name, or nil.
func find(objs []map[string]any, kind, name string) map[string]any {
	for _, o := range objs {
		if o["kind"] == kind && get(o, "metadata", "name") == name {
			return o
		}
	}
	return nil
}

func list(v any, p ...string) []any {
	l, _ := get(v, p...).([]any)
	return l
}

// named returns the element of l whose name is name, or nil.
func named(l []any, name string) any {
	for _, e := range l {
		if get(e, "name") == name {
			return e
		}
	}
	return nil
}

func strs(l []any) []string {
	var out []string
	for _, e := range l {
		s, _ := e.(string)
		out = append(out, s)
	}
	return out
}

// mountOf returns the container's mount of the volume, or nil.
func mountOf(container any, volume string) any {
	for _, m := range list(container, "volumeMounts") {
		if get(m, "name") == volume {
			return m
		}
	}
	return nil
}

// checkRestricted fails for every container of the pod that the
// restricted Pod Security Standard of the namespace would refuse.
func checkRestricted(t *testing.T, pod any) {
	t.Helper()
	sc := get(pod, "securityContext")
	if get(sc, "runAsNonRoot") != true || get(sc, "seccompProfile", "type") != "RuntimeDefault" {
		t.Errorf("pod securityContext %v is not restricted", sc)
	}
	for _, c := range append(list(pod, "initContainers"), list(pod, "containers")...) {
		sc := get(c, "securityContext")
		drop := list(sc, "capabilities", "drop")
		if get(sc, "allowPrivilegeEscalation") != false || !slices.Contains(drop, any("ALL")) || get(sc, "runAsUser") == 0 {
			t.Errorf("container %v: securityContext %v is not restricted: the namespace would refuse the pod", get(c, "name"), sc)
		}
		if image, _ := get(c, "image").(string); !pinnedTag.MatchString(image) {
			t.Errorf("container %v: image %v floats: pin an exact version or a digest", get(c, "name"), get(c, "image"))
		}
	}
}

const fleetDir = "fleet"

// pinnedTag matches an image reference that cannot float: an exact
// [v]x.y.z tag or a digest.
var pinnedTag = regexp.MustCompile(`(:v?\d+\.\d+\.\d+[^@\s]*|@sha256:[0-9a-f]{64})$`)

// TestKustomizeBuilds: the base and the many-accounts overlay build, and
// every object lands in the base's namespace.
func TestKustomizeBuilds(t *testing.T) {
	for _, dir := range []string{"kubernetes", fleetDir} {
		for _, o := range build(t, dir) {
			if ns := get(o, "metadata", "namespace"); o["kind"] != "Namespace" && ns != "horizon" {
				t.Errorf("%s: %v %v is in namespace %v, want horizon", dir, o["kind"], get(o, "metadata", "name"), ns)
			}
		}
	}
}

// TestFleetServesTheAccountsDirectory: every file of fleet/accounts is a
// key of the ConfigMap horizon-accounts, which the reconciler mounts
// read-only (no subPath, which would not follow updates) at the directory
// it runs; the single-account ConfigMap and Secret are gone, so that no pod
// waits for objects the layout does not need; several replicas run on
// PostgreSQL.
func TestFleetServesTheAccountsDirectory(t *testing.T) {
	objs := build(t, fleetDir)
	cm := find(objs, "ConfigMap", "horizon-accounts")
	if cm == nil {
		t.Fatal("no ConfigMap horizon-accounts")
	}
	files, err := filepath.Glob(filepath.Join(fleetDir, "accounts", "*.yaml"))
	if err != nil || len(files) < 2 {
		t.Fatalf("account files %v (%v): want at least two examples", files, err)
	}
	data, _ := cm["data"].(map[string]any)
	if len(data) != len(files) {
		t.Errorf("ConfigMap keys %v, want one per file of %v", keys(data), files)
	}
	for _, f := range files {
		want, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if data[filepath.Base(f)] != string(want) {
			t.Errorf("ConfigMap horizon-accounts: key %s is not %s (list the file in configMapGenerator)", filepath.Base(f), f)
		}
	}
	if find(objs, "ConfigMap", "horizon-config") != nil {
		t.Error("the single-account ConfigMap horizon-config is still built")
	}

	d := find(objs, "Deployment", "horizon-reconciler")
	if d == nil {
		t.Fatal("no Deployment horizon-reconciler")
	}
	if r, _ := get(d, "spec", "replicas").(int); r < 2 {
		t.Errorf("replicas %v: want at least two, so that another replica takes a lost one's accounts", get(d, "spec", "replicas"))
	}
	pod := get(d, "spec", "template", "spec")
	checkRestricted(t, pod)
	c := named(list(pod, "containers"), "reconciler")
	if got := strings.Join(strs(list(c, "args")), " "); got != "run -f /etc/horizon/accounts" {
		t.Errorf("reconciler args %q, want run -f /etc/horizon/accounts", got)
	}
	vol := named(list(pod, "volumes"), "accounts")
	m := mountOf(c, "accounts")
	if get(vol, "configMap", "name") != "horizon-accounts" || get(m, "mountPath") != "/etc/horizon/accounts" ||
		get(m, "readOnly") != true || get(m, "subPath") != nil {
		t.Errorf("accounts volume %v mounted as %v: want ConfigMap horizon-accounts, read-only at /etc/horizon/accounts, no subPath", vol, m)
	}
	env := list(c, "env")
	if get(named(env, "HORIZON_DATABASE_URL"), "valueFrom", "secretKeyRef", "name") != "horizon-database" {
		t.Error("several replicas need PostgreSQL: HORIZON_DATABASE_URL does not come from the Secret horizon-database")
	}
	for _, e := range env {
		if s := get(e, "valueFrom", "secretKeyRef", "name"); s != nil && s != "horizon-database" && s != "horizon-accounts" {
			t.Errorf("env %v comes from Secret %v, which the layout does not create", get(e, "name"), s)
		}
	}
	for _, v := range list(pod, "volumes") {
		if s := get(v, "secret", "secretName"); s != nil && s != "horizon-accounts" {
			t.Errorf("volume %v comes from Secret %v, which the layout does not create", get(v, "name"), s)
		}
	}
}

// TestFleetAccountFilesValid: the example accounts are what `reconciler
// validate` accepts as a directory: no error, distinct names, each
// callbacks.url at /callbacks/{account}/{provider} on the Ingress host,
// and every credential a file of the Secret horizon-accounts, whose example
// holds that key, at the path the Deployment mounts it.
func TestFleetAccountFilesValid(t *testing.T) {
	set, err := config.LoadSet([]string{filepath.Join(fleetDir, "accounts")}, config.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range set.Diagnostics {
		if d.Severity == config.SeverityError {
			t.Errorf("%s:%d:%d: %s", d.File, d.Line, d.Col, d.Message)
		}
	}
	if len(set.Configs) != len(set.Files) || len(set.Configs) < 2 {
		t.Fatalf("%d valid accounts of %d files, want every file valid and at least two", len(set.Configs), len(set.Files))
	}
	names := map[string]string{}
	for _, c := range set.Configs {
		if other, ok := names[c.Account.Name]; ok {
			t.Errorf("%s and %s both name account %q", other, c.File, c.Account.Name)
		}
		names[c.Account.Name] = c.File
	}

	objs := build(t, fleetDir)
	host := get(list(find(objs, "Ingress", "horizon-reconciler"), "spec", "rules")[0], "host")
	pod := get(find(objs, "Deployment", "horizon-reconciler"), "spec", "template", "spec")
	secretDir, _ := get(mountOf(named(list(pod, "containers"), "reconciler"), "account-secrets"), "mountPath").(string)
	if get(named(list(pod, "volumes"), "account-secrets"), "secret", "secretName") != "horizon-accounts" || secretDir == "" {
		t.Fatal("the Secret horizon-accounts is not mounted in the reconciler as volume account-secrets")
	}
	example := secretKeys(t, filepath.Join(fleetDir, "secret.example.yaml"), "horizon-accounts")

	for _, c := range set.Configs {
		u, err := url.Parse(c.Callbacks.URL)
		want := "/callbacks/" + c.Account.Name + "/" + string(c.Helpdesk.Provider)
		if err != nil || u.Host != host || u.Path != want {
			t.Errorf("%s: callbacks.url %s, want https://%v%s", c.File, c.Callbacks.URL, host, want)
		}
		for _, ref := range c.SecretRefs() {
			if ref.Ref.File == "" || path.Dir(ref.Ref.File) != secretDir {
				t.Errorf("%s: %s is %s, want a file of %s (the Secret horizon-accounts)", c.File, ref.Path, ref.Ref, secretDir)
				continue
			}
			key := path.Base(ref.Ref.File)
			if !slices.Contains(example, key) {
				t.Errorf("%s: %s: key %s is not in secret.example.yaml", c.File, ref.Path, key)
			}
			if !strings.HasPrefix(key, c.Account.Name+"-") {
				t.Errorf("%s: %s: key %s does not start with the account's name", c.File, ref.Path, key)
			}
		}
	}
}

// buildOverlay builds a user's overlay of the fleet: kustomization (FLEET
// standing for deploy/fleet) and files, in a temporary directory.
func buildOverlay(t *testing.T, kustomization string, files map[string]string) []map[string]any {
	t.Helper()
	// Kustomize refuses absolute paths to bases and components: the
	// overlay reaches them relatively.
	dir := t.TempDir()
	abs, err := filepath.Abs(fleetDir)
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(dir, abs)
	if err != nil {
		t.Fatal(err)
	}
	files = maps.Clone(files)
	if files == nil {
		files = map[string]string{}
	}
	files["kustomization.yaml"] = strings.ReplaceAll(kustomization, "FLEET", filepath.ToSlash(rel))
	writeTree(t, dir, files)
	return build(t, dir)
}

// writeTree writes files (slash-separated names) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFleetOverlayReplacesAccounts: an overlay of the fleet with its own
// account files, as docs/accounts.md shows it, ships those and only those.
func TestFleetOverlayReplacesAccounts(t *testing.T) {
	objs := buildOverlay(t, `resources:
  - FLEET
configMapGenerator:
  - name: horizon-accounts
    behavior: replace
    files:
      - accounts/initech.yaml
    options:
      disableNameSuffixHash: true
`, map[string]string{"accounts/initech.yaml": "account: {name: initech}\n"})
	cm := find(objs, "ConfigMap", "horizon-accounts")
	if data, _ := get(cm, "data").(map[string]any); len(data) != 1 || data["initech.yaml"] != "account: {name: initech}\n" {
		t.Errorf("ConfigMap horizon-accounts %v, want the overlay's one file", get(cm, "data"))
	}
	if get(cm, "metadata", "namespace") != "horizon" {
		t.Errorf("ConfigMap horizon-accounts in namespace %v, want horizon", get(cm, "metadata", "namespace"))
	}
}

// gitSyncOverlay is the overlay docs/accounts.md shows for the git-sync
// component: the fleet, the component, and the repository patched in.
const gitSyncOverlay = `resources:
  - FLEET
components:
  - FLEET/git-sync
patches:
  - target: {kind: ConfigMap, name: horizon-git-sync}
    patch: |-
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: horizon-git-sync
      data:
        GITSYNC_REPO: https://git.example.net/msp/accounts.git
`

// TestFleetGitSync: an overlay of the fleet with the git-sync component
// (as docs/accounts.md shows it) replaces the ConfigMap of accounts by an
// emptyDir at the same place, which git-sync's hook fills from the
// checkout: first an init container, once, before the reconciler starts,
// then a sidecar on every new commit. The reconciler container is the
// ConfigMap layout's; the images are pinned, the containers restricted,
// and the overlay's repository reaches both git-sync containers.
func TestFleetGitSync(t *testing.T) {
	objs := buildOverlay(t, gitSyncOverlay, nil)
	if find(objs, "ConfigMap", "horizon-accounts") != nil {
		t.Error("the ConfigMap horizon-accounts is still built: the accounts come from Git")
	}
	d := find(objs, "Deployment", "horizon-reconciler")
	pod := get(d, "spec", "template", "spec")
	checkRestricted(t, pod)
	accounts := named(list(pod, "volumes"), "accounts")
	if get(accounts, "emptyDir") == nil || get(accounts, "configMap") != nil {
		t.Errorf("volume accounts %v, want an emptyDir only", accounts)
	}
	if get(named(list(pod, "volumes"), "git"), "emptyDir") == nil {
		t.Errorf("volume git %v, want an emptyDir", named(list(pod, "volumes"), "git"))
	}
	rec := named(list(pod, "containers"), "reconciler")
	if got := strings.Join(strs(list(rec, "args")), " "); got != "run -f /etc/horizon/accounts" {
		t.Errorf("reconciler args %q, want run -f /etc/horizon/accounts", got)
	}
	if m := mountOf(rec, "accounts"); get(m, "mountPath") != "/etc/horizon/accounts" || get(m, "readOnly") != true {
		t.Errorf("reconciler mounts accounts as %v, want read-only at /etc/horizon/accounts", m)
	}
	if mountOf(rec, "git") != nil {
		t.Error("the reconciler mounts the checkout: it must read only what the hook published")
	}

	clone := named(list(pod, "initContainers"), "git-clone")
	sidecar := named(list(pod, "containers"), "git-sync")
	if clone == nil || sidecar == nil {
		t.Fatalf("init container git-clone %v, container git-sync %v: want both", clone, sidecar)
	}
	if !slices.Contains(strs(list(clone, "args")), "--one-time") || slices.Contains(strs(list(sidecar, "args")), "--one-time") {
		t.Errorf("git-clone args %v, git-sync args %v: the init container syncs once, the sidecar keeps syncing", list(clone, "args"), list(sidecar, "args"))
	}
	hookVol := named(list(pod, "volumes"), "git-sync-hook")
	hookCM := find(objs, "ConfigMap", get(hookVol, "configMap", "name").(string))
	if mode, _ := get(hookVol, "configMap", "defaultMode").(int); hookCM == nil || mode&0o111 != 0o111 {
		t.Fatalf("volume git-sync-hook %v: want the hook's ConfigMap, executable", hookVol)
	}
	for _, c := range []any{clone, sidecar} {
		name := get(c, "name")
		if image, _ := get(c, "image").(string); !strings.HasPrefix(image, "registry.k8s.io/git-sync/git-sync:v4.") {
			t.Errorf("%v: image %v, want git-sync v4 (its GITSYNC_ variables)", name, image)
		}
		env := environment(t, objs, c)
		if env["GITSYNC_REPO"] != "https://git.example.net/msp/accounts.git" {
			t.Errorf("%v: GITSYNC_REPO %q, want the overlay's repository", name, env["GITSYNC_REPO"])
		}
		if m := mountOf(c, "git"); env["GITSYNC_ROOT"] == "" || get(m, "mountPath") != env["GITSYNC_ROOT"] || get(m, "readOnly") == true {
			t.Errorf("%v: volume git mounted as %v, want writable at GITSYNC_ROOT %q", name, m, env["GITSYNC_ROOT"])
		}
		if m := mountOf(c, "accounts"); env["ACCOUNTS_OUT"] == "" || get(m, "mountPath") != env["ACCOUNTS_OUT"] || get(m, "readOnly") == true {
			t.Errorf("%v: volume accounts mounted as %v, want writable at ACCOUNTS_OUT %q", name, m, env["ACCOUNTS_OUT"])
		}
		hook := env["GITSYNC_EXECHOOK_COMMAND"]
		hookDir, _ := get(mountOf(c, "git-sync-hook"), "mountPath").(string)
		if data, _ := hookCM["data"].(map[string]any); hookDir == "" || path.Dir(hook) != hookDir || data[path.Base(hook)] == nil {
			t.Errorf("%v: GITSYNC_EXECHOOK_COMMAND %q is not a file of the hook's ConfigMap (mounted at %q)", name, hook, hookDir)
		}
		secretDir, _ := get(mountOf(c, "git-secret"), "mountPath").(string)
		if f := env["GITSYNC_PASSWORD_FILE"]; secretDir == "" || path.Dir(f) != secretDir {
			t.Errorf("%v: GITSYNC_PASSWORD_FILE %q is not a file of the mounted Secret horizon-git", name, f)
		}
	}
	if get(d, "spec", "template", "metadata", "annotations", "kubectl.kubernetes.io/default-container") != "reconciler" {
		t.Error("kubectl logs would default to the first container: annotate kubectl.kubernetes.io/default-container: reconciler")
	}
}

// TestPublishAccountsHook runs git-sync's hook as git-sync does (in the
// new commit's worktree) on the example accounts, and watches the
// published directory as the daemon does: each commit is seen, the files
// are the commit's (hidden and other files left out, removed ones gone,
// no temporary file left) and load as the accounts; a commit without the
// accounts directory fails the hook and leaves the published accounts as
// they were.
func TestPublishAccountsHook(t *testing.T) {
	hook, err := filepath.Abs(filepath.Join(fleetDir, "git-sync", "publish-accounts.sh"))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := os.WriteFile(filepath.Join(out, "gone.yaml"), []byte("account: {name: gone}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	examples, err := filepath.Glob(filepath.Join(fleetDir, "accounts", "*.yaml"))
	if err != nil || len(examples) < 2 {
		t.Fatalf("examples %v (%v)", examples, err)
	}
	commit := func(files map[string]string) (string, error) {
		tree := t.TempDir()
		writeTree(t, tree, files)
		cmd := exec.Command("bash", hook)
		cmd.Dir = tree
		cmd.Env = append(os.Environ(), "GITSYNC_HASH=0123abcd", "ACCOUNTS_PATH=accounts", "ACCOUNTS_OUT="+out)
		b, err := cmd.CombinedOutput()
		return string(b), err
	}

	w, err := daemon.NewWatcher(out)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	changes := make(chan struct{}, 1)
	go w.Run(ctx, daemon.Debounce{Min: 20 * time.Millisecond, Max: time.Second}, changes, slog.New(slog.DiscardHandler))
	seen := func(what string) {
		t.Helper()
		select {
		case <-changes:
		case <-time.After(10 * time.Second):
			t.Fatalf("the daemon's watch saw no change after %s", what)
		}
	}
	published := func() map[string]string {
		t.Helper()
		entries, err := os.ReadDir(out)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(out, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			got[e.Name()] = string(b)
		}
		return got
	}

	first := map[string]string{"README.md": "accounts\n", "accounts/.draft.yaml": "x: 1\n", "accounts/notes.txt": "n\n"}
	want := map[string]string{}
	for _, f := range examples {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		first["accounts/"+filepath.Base(f)] = string(b)
		want[filepath.Base(f)] = string(b)
	}
	if msg, err := commit(first); err != nil {
		t.Fatalf("hook: %v\n%s", err, msg)
	}
	seen("the first commit")
	if got := published(); !maps.Equal(got, want) {
		t.Errorf("published %v, want the commit's account files %v", keys(got), keys(want))
	}
	set, err := config.LoadSet([]string{out}, config.LoadOptions{})
	if err != nil || set.Invalid() || len(set.Configs) != len(examples) {
		t.Errorf("published accounts load as %d accounts (%v, diagnostics %v), want %d", len(set.Configs), err, set.Diagnostics, len(examples))
	}

	// The next commit drops an account and changes another.
	second := map[string]string{"accounts/" + filepath.Base(examples[0]): want[filepath.Base(examples[0])] + "# edited\n"}
	if msg, err := commit(second); err != nil {
		t.Fatalf("hook: %v\n%s", err, msg)
	}
	seen("a commit that edits one account and removes another")
	want = map[string]string{filepath.Base(examples[0]): second["accounts/"+filepath.Base(examples[0])]}
	if got := published(); !maps.Equal(got, want) {
		t.Errorf("published %v after the second commit, want %v", keys(got), keys(want))
	}

	// A commit without the directory is refused; the accounts stay.
	if msg, err := commit(map[string]string{"README.md": "moved\n"}); err == nil || !strings.Contains(msg, "no directory accounts") {
		t.Errorf("hook on a commit without accounts/: %v %q, want a failure naming the directory", err, msg)
	}
	if got := published(); !maps.Equal(got, want) {
		t.Errorf("published %v after a failed hook, want %v kept", keys(got), keys(want))
	}
}

// environment returns a container's environment: its ConfigMaps
// (envFrom), then its own values.
func environment(t *testing.T, objs []map[string]any, c any) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, from := range list(c, "envFrom") {
		name, _ := get(from, "configMapRef", "name").(string)
		cm := find(objs, "ConfigMap", name)
		if cm == nil {
			t.Errorf("%v: envFrom ConfigMap %q is not built", get(c, "name"), name)
			continue
		}
		for k, v := range cm["data"].(map[string]any) {
			env[k], _ = v.(string)
		}
	}
	for _, e := range list(c, "env") {
		if v, ok := get(e, "value").(string); ok {
			env[get(e, "name").(string)] = v
		}
	}
	return env
}

// secretKeys returns the keys of the Secret name in an example file.
func secretKeys(t *testing.T, file, name string) []string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if s := find(documents(t, file, data), "Secret", name); s != nil {
		d, _ := s["stringData"].(map[string]any)
		return keys(d)
	}
	t.Fatalf("%s: no Secret %s", file, name)
	return nil
}

func keys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// TestAccountsDocLinks: the links of docs/accounts.md lead somewhere: its
// own anchors and every docs/accounts.md#anchor named under deploy/ are
// headings, and its relative links are files of the repository.
func TestAccountsDocLinks(t *testing.T) {
	const doc = "../docs/accounts.md"
	data, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	for _, h := range regexp.MustCompile(`(?m)^#+\s+(.*)$`).FindAllStringSubmatch(string(data), -1) {
		anchors[slug(h[1])] = true
	}
	for _, l := range regexp.MustCompile(`\]\(([^)\s]+)\)`).FindAllStringSubmatch(string(data), -1) {
		target, anchor, _ := strings.Cut(l[1], "#")
		switch {
		case strings.Contains(target, "://"):
		case target == "":
			if !anchors[anchor] {
				t.Errorf("%s: link to #%s, which is not a heading", doc, anchor)
			}
		default:
			if _, err := os.Stat(filepath.Join(filepath.Dir(doc), target)); err != nil {
				t.Errorf("%s: link to %s: %v", doc, target, err)
			}
		}
	}
	err = filepath.WalkDir(".", func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() || !strings.HasSuffix(p, ".yaml") {
			return err
		}
		b, err := os.ReadFile(p)
		for _, m := range regexp.MustCompile(`accounts\.md#([\w-]+)`).FindAllStringSubmatch(string(b), -1) {
			if !anchors[m[1]] {
				t.Errorf("%s: docs/accounts.md#%s is not a heading", p, m[1])
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// slug is GitHub's anchor of a heading.
func slug(h string) string {
	h = regexp.MustCompile(`[^\w\- ]`).ReplaceAllString(strings.ToLower(strings.TrimSpace(h)), "")
	return strings.ReplaceAll(h, " ", "-")
}
