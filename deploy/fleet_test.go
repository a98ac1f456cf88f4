package deploy_test

import (
	"bytes"
	"errors"
	"io"
	"maps"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/horizon/reconciler/internal/config"
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
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return build(t, dir)
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
// runs the accounts directory of a checkout that an init container clones
// before the reconciler starts and a sidecar keeps current, in an emptyDir
// the reconciler mounts read-only, with pinned images and restricted
// containers; the ConfigMap of accounts is gone, and the overlay's
// repository reaches both git-sync containers.
func TestFleetGitSync(t *testing.T) {
	objs := buildOverlay(t, gitSyncOverlay, nil)
	if find(objs, "ConfigMap", "horizon-accounts") != nil {
		t.Error("the ConfigMap horizon-accounts is still built: the accounts come from Git")
	}
	d := find(objs, "Deployment", "horizon-reconciler")
	pod := get(d, "spec", "template", "spec")
	checkRestricted(t, pod)
	if v := named(list(pod, "volumes"), "accounts"); v != nil {
		t.Errorf("volume accounts %v is still mounted", v)
	}
	if git := named(list(pod, "volumes"), "git"); get(git, "emptyDir") == nil {
		t.Fatalf("volume git is %v, want an emptyDir", git)
	}

	clone := named(list(pod, "initContainers"), "git-clone")
	sidecar := named(list(pod, "containers"), "git-sync")
	if clone == nil || sidecar == nil {
		t.Fatalf("init container git-clone %v, container git-sync %v: want both", clone, sidecar)
	}
	if !slices.Contains(strs(list(clone, "args")), "--one-time") || slices.Contains(strs(list(sidecar, "args")), "--one-time") {
		t.Errorf("git-clone args %v, git-sync args %v: the init container clones once, the sidecar keeps syncing", list(clone, "args"), list(sidecar, "args"))
	}
	var root, link string
	for _, c := range []any{clone, sidecar} {
		if image, _ := get(c, "image").(string); !strings.HasPrefix(image, "registry.k8s.io/git-sync/git-sync:v4.") {
			t.Errorf("%v: image %v, want git-sync v4 (its GITSYNC_ variables)", get(c, "name"), image)
		}
		env := environment(t, objs, c)
		if env["GITSYNC_REPO"] != "https://git.example.net/msp/accounts.git" {
			t.Errorf("%v: GITSYNC_REPO %q, want the overlay's repository", get(c, "name"), env["GITSYNC_REPO"])
		}
		root, link = env["GITSYNC_ROOT"], env["GITSYNC_LINK"]
		if m := mountOf(c, "git"); root == "" || get(m, "mountPath") != root || get(m, "readOnly") == true {
			t.Errorf("%v: volume git mounted as %v, want writable at GITSYNC_ROOT %q", get(c, "name"), m, root)
		}
		if f := env["GITSYNC_PASSWORD_FILE"]; f == "" || mountOf(c, "git-secret") == nil ||
			!strings.HasPrefix(f, get(mountOf(c, "git-secret"), "mountPath").(string)+"/") {
			t.Errorf("%v: GITSYNC_PASSWORD_FILE %q is not a file of the mounted Secret horizon-git", get(c, "name"), f)
		}
	}

	rec := named(list(pod, "containers"), "reconciler")
	m := mountOf(rec, "git")
	mp, _ := get(m, "mountPath").(string)
	if mp == "" || get(m, "readOnly") != true {
		t.Fatalf("reconciler mounts volume git as %v, want read-only", m)
	}
	want := "run -f " + path.Join(mp, link, "accounts")
	if got := strings.Join(strs(list(rec, "args")), " "); link == "" || got != want {
		t.Errorf("reconciler args %q, want %q (the checkout's accounts directory)", got, want)
	}
	if get(d, "spec", "template", "metadata", "annotations", "kubectl.kubernetes.io/default-container") != "reconciler" {
		t.Error("kubectl logs would default to the first container: annotate kubectl.kubernetes.io/default-container: reconciler")
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

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
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
			// scale.md holds the scale figures; it is written with them.
			if _, err := os.Stat(filepath.Join(filepath.Dir(doc), target)); err != nil && target != "scale.md" {
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
