package cluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// EnvBinaries names the environment variable holding the folder with the etcd and
// kube-apiserver binaries, as printed by scripts/k8s-binaries.sh.
const EnvBinaries = "AUGER_K8S_BINARIES"

// AgentUser is the user name behind Cluster.AgentConfig. It belongs to no group, so it can do only
// what RBAC objects created by the test grant it.
const AgentUser = "auger-agent"

const (
	// adminUser is in system:masters, which RBAC lets do anything.
	adminUser = "auger-admin"

	etcdReadyTimeout = 30 * time.Second
	readyTimeout     = 60 * time.Second
	stopTimeout      = 15 * time.Second
	// startAttempts bounds the retries when a free port found by freePorts is taken by
	// another process before etcd or kube-apiserver binds it.
	startAttempts = 3
	logTailLines  = 40
)

// errPortTaken marks a start-up that failed only because a chosen port was taken meanwhile.
var errPortTaken = errors.New("a port was taken before the server could bind it")

// Cluster is a running etcd and kube-apiserver (and, as Options ask, controllers, fake nodes
// and Flux), stopped when the test that started it ends.
type Cluster struct {
	// Config reaches the apiserver as a member of system:masters, with TLS verified against
	// the apiserver's self-signed certificate. Each call to Start gets its own.
	Config *rest.Config
	// URL is the apiserver's base URL, such as https://127.0.0.1:40123.
	URL string

	agentToken string
	etcd       *process
	apiserver  *process
	controls   controlPlane
}

// Start starts etcd and kube-apiserver from the binaries in $AUGER_K8S_BINARIES, on free
// loopback ports and in a folder of t.TempDir(), waits until the apiserver is ready, and stops
// both (the apiserver first, since it needs etcd to shut down cleanly) when the test ends.
//
// A missing binary fails the test rather than skipping it, so that a run without a cluster
// never looks like a pass.
func Start(t testing.TB) *Cluster { return StartWith(t, Options{}) }

// StartWith is Start, plus the controllers, fake nodes and Flux that opts ask for; it returns
// once they all work (nodes ready, Flux's controllers ready).
func StartWith(t testing.TB, opts Options) *Cluster {
	t.Helper()
	dir := os.Getenv(EnvBinaries)
	if dir == "" {
		t.Fatalf("cluster: $%s is not set: run `export %s=$(scripts/k8s-binaries.sh)` (scripts/test.sh does it) to build etcd and kube-apiserver", EnvBinaries, EnvBinaries)
	}
	bins := binaries{dir: dir, etcd: filepath.Join(dir, "etcd"), apiserver: filepath.Join(dir, "kube-apiserver")}
	need := []string{bins.etcd, bins.apiserver}
	if opts.Nodes > 0 {
		need = append(need, filepath.Join(dir, "kube-controller-manager"), filepath.Join(dir, "kube-scheduler"), filepath.Join(dir, "kwok"))
	}
	if opts.Flux {
		need = append(need, filepath.Join(dir, "source-controller"), filepath.Join(dir, "kustomize-controller"))
	}
	for _, b := range need {
		if info, err := os.Stat(b); err != nil || info.IsDir() || info.Mode()&0o111 == 0 {
			t.Fatalf("cluster: %s is not an executable file (from $%s): run scripts/k8s-binaries.sh to build it", b, EnvBinaries)
		}
	}

	for attempt := 1; ; attempt++ {
		began := time.Now()
		c, err := start(t, bins, opts)
		if err == nil {
			t.Cleanup(c.stop)
			t.Logf("cluster: ready at %s in %v (%+v)", c.URL, time.Since(began).Round(time.Millisecond), opts)
			return c
		}
		if attempt < startAttempts && errors.Is(err, errPortTaken) {
			t.Logf("cluster: attempt %d failed, trying other ports: %v", attempt, err)
			continue
		}
		t.Fatalf("cluster: %v", err)
	}
}

// Client returns a clientset with the admin rights of c.Config.
func (c *Cluster) Client(t testing.TB) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		t.Fatalf("cluster: admin client: %v", err)
	}
	return cs
}

// AgentConfig returns a copy of c.Config that authenticates as AgentUser instead of the
// admin. AgentUser has only the rights that RBAC objects grant it: use it to check that
// Auger's agent works with the least privileges documented.
func (c *Cluster) AgentConfig() *rest.Config {
	cfg := rest.AnonymousClientConfig(c.Config)
	cfg.BearerToken = c.agentToken
	return cfg
}

type binaries struct{ dir, etcd, apiserver string }

// start makes one attempt; on error it has stopped whatever it had started.
func start(t testing.TB, bins binaries, opts Options) (c *Cluster, err error) {
	dir := t.TempDir()
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	c = &Cluster{URL: fmt.Sprintf("https://127.0.0.1:%d", ports[2])}
	defer func() {
		if err != nil {
			c.stop()
		}
	}()

	c.etcd, err = startProcess(bins.etcd, filepath.Join(dir, "etcd.log"),
		"--name=default",
		"--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdURL,
		"--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL,
		"--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=default="+peerURL,
		// Test data need not survive a crash, and fsync dominates etcd's write latency.
		"--unsafe-no-fsync",
	)
	if err != nil {
		return c, err
	}
	// Waiting for etcd first turns a broken etcd into its own clear error, instead of an
	// apiserver that retries until readyTimeout.
	if err := waitEtcd(c.etcd, etcdURL); err != nil {
		return c, err
	}

	adminToken, err := randomToken()
	if err != nil {
		return c, err
	}
	if c.agentToken, err = randomToken(); err != nil {
		return c, err
	}
	// Columns: token, user name, uid, groups (quoted because the field may hold a list).
	tokens := fmt.Sprintf("%s,%s,%s,\"system:masters\"\n%s,%s,%s\n",
		adminToken, adminUser, adminUser, c.agentToken, AgentUser, AgentUser)
	tokenFile := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(tokenFile, []byte(tokens), 0o600); err != nil {
		return c, fmt.Errorf("write token file: %w", err)
	}
	saKey := filepath.Join(dir, "service-account.key")
	if err := writeRSAKey(saKey); err != nil {
		return c, err
	}
	certDir := filepath.Join(dir, "certs")

	c.apiserver, err = startProcess(bins.apiserver, filepath.Join(dir, "kube-apiserver.log"),
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(ports[2]),
		// The default advertise address is the host's first non-loopback address, which may
		// not exist here; 127.0.0.1 is fatal to the endpoint reconciler, which would publish
		// it as the kubernetes Service's endpoint, so that reconciler is off.
		"--advertise-address=127.0.0.1",
		"--endpoint-reconciler-type=none",
		// A self-signed serving certificate (with its CA) is generated in certDir; the
		// client trusts it from there.
		"--cert-dir="+certDir,
		"--token-auth-file="+tokenFile,
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file="+saKey,
		"--service-account-signing-key-file="+saKey,
		"--service-cluster-ip-range=10.0.0.0/24",
		// Without a controller manager, no namespace gets its default service account, so
		// this plugin would reject every Pod; with one, pods run on kwok's fake nodes, which
		// mount no token anyway. TaintNodesByCondition taints new nodes not-ready until the
		// node lifecycle controller sees them ready; that controller is not run (kwok's
		// nodes send no heartbeats), so the taint would keep every pod off kwok's nodes.
		"--disable-admission-plugins=ServiceAccount,TaintNodesByCondition",
	)
	if err != nil {
		return c, err
	}
	if c.Config, err = waitAPIServer(c.apiserver, c.URL, filepath.Join(certDir, "apiserver.crt"), adminToken); err != nil {
		return c, err
	}
	return c, c.startControllers(dir, bins.dir, opts)
}

// stop stops the controllers, the apiserver, then etcd: the apiserver the other way round, the apiserver's shutdown would
// hang on etcd requests.
func (c *Cluster) stop() {
	c.controls.stop()
	c.apiserver.stop()
	c.etcd.stop()
}

// process is a child process whose output goes to a log file.
type process struct {
	name string
	log  string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited; err is then set
	err  error
}

func startProcess(bin, logFile string, args ...string) (*process, error) {
	return startProcessEnv(bin, logFile, nil, args...)
}

// startProcessEnv is startProcess with variables added to the minimal environment.
func startProcessEnv(bin, logFile string, env []string, args ...string) (*process, error) {
	out, err := os.Create(logFile)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", logFile, err)
	}
	p := &process{name: filepath.Base(bin), log: logFile, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = out, out
	// A minimal environment: etcd reads every ETCD_* variable as a flag, and proxy variables
	// would send the apiserver's etcd traffic elsewhere.
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + filepath.Dir(logFile)}, env...)
	p.cmd.SysProcAttr = sysProcAttr()
	if err := p.cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		out.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop asks the process to shut down gracefully and kills it if it has not done so in
// stopTimeout. A nil process (one never started) is fine.
func (p *process) stop() {
	if p == nil || p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// failure describes why the process did not become ready in timeout, with the end of its
// log, and marks it with errPortTaken when that is the cause.
func (p *process) failure(timeout time.Duration, lastErr error) error {
	log, _ := os.ReadFile(p.log)
	// Once the process has exited, its log tells why; the client's last error would only
	// say that nothing answers.
	what := fmt.Sprintf("exited before it was ready (%v)", p.err)
	if !p.exited() {
		what = fmt.Sprintf("was not ready within %v (last error: %v)", timeout, lastErr)
	}
	err := fmt.Errorf("%s %s; last lines of its log:\n%s", p.name, what, tail(log, logTailLines))
	if bytes.Contains(log, []byte("address already in use")) {
		return fmt.Errorf("%w: %w", errPortTaken, err)
	}
	return err
}

func waitEtcd(p *process, url string) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(etcdReadyTimeout)
	var lastErr error
	for time.Now().Before(deadline) && !p.exited() {
		var resp *http.Response
		if resp, lastErr = client.Get(url + "/health"); lastErr == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			lastErr = fmt.Errorf("GET /health: %s", resp.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return p.failure(etcdReadyTimeout, lastErr)
}

// waitAPIServer waits for the apiserver's serving certificate, then for /readyz, and returns
// the admin configuration.
func waitAPIServer(p *process, url, certFile, adminToken string) (*rest.Config, error) {
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	var (
		cfg     *rest.Config
		client  kubernetes.Interface
		lastErr error
	)
	for ctx.Err() == nil && !p.exited() {
		if client == nil {
			cfg, lastErr = adminConfig(url, certFile, adminToken)
			if lastErr == nil {
				client, lastErr = kubernetes.NewForConfig(cfg)
			}
		}
		if client != nil {
			var body []byte
			body, lastErr = client.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx).Raw()
			if lastErr == nil && string(body) == "ok" {
				return cfg, nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil, p.failure(readyTimeout, lastErr)
}

// adminConfig trusts the CA that the apiserver wrote with its self-signed certificate (the
// file holds the certificate, then the CA), so the client checks TLS like a real one.
func adminConfig(url, certFile, adminToken string) (*rest.Config, error) {
	ca, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("read serving certificate: %w", err)
	}
	// The file may be read while the apiserver is still writing it.
	if !x509.NewCertPool().AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("no certificate in %s yet", certFile)
	}
	return &rest.Config{
		Host:            url,
		BearerToken:     adminToken,
		TLSClientConfig: rest.TLSClientConfig{CAData: ca},
		// client-go's default of 5 requests a second would make tests that create many
		// objects crawl; this apiserver serves only the test.
		QPS:   200,
		Burst: 400,
	}, nil
}

// freePorts returns n distinct loopback ports that were free a moment ago. They are held
// together while picked so that the n differ.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func randomToken() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// writeRSAKey writes a fresh RSA private key, which kube-apiserver uses both to sign service
// account tokens and (deriving the public key) to verify them.
func writeRSAKey(path string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("generate service account key: %w", err)
	}
	block := &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return fmt.Errorf("write service account key: %w", err)
	}
	return nil
}

func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
