// Command cnitool is the conformance harness's CNI runtime: a thin command-line
// front end to libcni (the Go client library every real runtime uses), so the
// tests exercise plugins exactly the way podman/containerd/CRI-O drive them:
// config list loading, prevResult chaining, the result cache, version checks.
//
// Usage: cnitool add|check|del NETWORK NETNS_PATH
//
// Environment:
//
//	NETCONFPATH      directory with *.conflist / *.conf (default /etc/cni/net.d)
//	CNI_PATH         plugin search path, ":"-separated (required)
//	CNI_IFNAME       interface name in the pod (default eth0, also when empty)
//	CNI_ARGS         "K=V;K=V" pairs, passed to the plugins as CNI_ARGS
//	CAP_ARGS         JSON object of capability args (runtimeConfig source)
//	CNI_CONTAINERID  container id (default: derived from the netns path)
//	CNI_CACHE_DIR    libcni result cache directory (or flag -cache-dir);
//	                 the tests always give one so no run touches /var/lib/cni
//	CNITOOL_TIMEOUT  seconds before the plugin chain is cancelled (default 100)
//
// On success "add" prints the result JSON (in the list's cniVersion); every
// verb exits 0. On failure the error goes to stderr and the exit status is 1
// (2 for a usage error).
package main

import (
	"context"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/containernetworking/cni/libcni"
)

const defaultConfDir = "/etc/cni/net.d"

type request struct {
	verb    string
	network string
	netns   string
}

func main() {
	cacheDir := flag.String("cache-dir", os.Getenv("CNI_CACHE_DIR"), "libcni result cache directory")
	flag.Usage = usage
	flag.Parse()

	req, err := parseRequest(flag.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		usage()
		os.Exit(2)
	}
	if err := run(req, *cacheDir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintf(os.Stderr, "usage: %s [-cache-dir DIR] add|check|del NETWORK NETNS_PATH\n", filepath.Base(os.Args[0]))
}

func parseRequest(args []string) (request, error) {
	if len(args) != 3 {
		return request{}, fmt.Errorf("expected 3 arguments, got %d", len(args))
	}
	verb := strings.ToLower(args[0])
	switch verb {
	case "add", "check", "del":
	default:
		return request{}, fmt.Errorf("unknown verb %q (libcni %s knows add, check, del)", args[0], "1.1.2")
	}
	netns, err := filepath.Abs(args[2])
	if err != nil {
		return request{}, fmt.Errorf("cannot make netns path %q absolute: %v", args[2], err)
	}
	return request{verb: verb, network: args[1], netns: netns}, nil
}

func run(req request, cacheDir string) error {
	confDir := envOr("NETCONFPATH", defaultConfDir)
	list, err := libcni.LoadConfList(confDir, req.network)
	if err != nil {
		return fmt.Errorf("loading network %q from %s: %w", req.network, confDir, err)
	}

	rt, err := runtimeConf(req)
	if err != nil {
		return err
	}

	cniPath := os.Getenv("CNI_PATH")
	if cniPath == "" {
		return errors.New("CNI_PATH is empty: set it to the directory holding the plugins")
	}
	client := libcni.NewCNIConfigWithCacheDir(filepath.SplitList(cniPath), cacheDir, nil)

	ctx, cancel := context.WithTimeout(context.Background(), timeout())
	defer cancel()

	switch req.verb {
	case "add":
		result, err := client.AddNetworkList(ctx, list, rt)
		if err != nil {
			return err
		}
		return result.Print()
	case "check":
		return client.CheckNetworkList(ctx, list, rt)
	default:
		return client.DelNetworkList(ctx, list, rt)
	}
}

func runtimeConf(req request) (*libcni.RuntimeConf, error) {
	rt := &libcni.RuntimeConf{
		ContainerID: os.Getenv("CNI_CONTAINERID"),
		NetNS:       req.netns,
		IfName:      envOr("CNI_IFNAME", "eth0"),
	}
	if rt.ContainerID == "" {
		rt.ContainerID = containerIDFor(req.netns)
	}

	pairs, err := parseCniArgs(os.Getenv("CNI_ARGS"))
	if err != nil {
		return nil, err
	}
	rt.Args = pairs

	if raw := os.Getenv("CAP_ARGS"); raw != "" {
		caps := map[string]interface{}{}
		if err := json.Unmarshal([]byte(raw), &caps); err != nil {
			return nil, fmt.Errorf("CAP_ARGS is not a JSON object: %v", err)
		}
		rt.CapabilityArgs = caps
	}
	return rt, nil
}

// containerIDFor gives a stable id per namespace path, the same one other
// cnitool builds derive: "cnitool-" and the first 10 bytes of sha512, in hex.
func containerIDFor(netnsPath string) string {
	sum := sha512.Sum512([]byte(netnsPath))
	return "cnitool-" + hex.EncodeToString(sum[:10])
}

// parseCniArgs splits "K=V;K=V"; every pair needs a non-empty key and value.
func parseCniArgs(s string) ([][2]string, error) {
	if s == "" {
		return nil, nil
	}
	var out [][2]string
	for _, item := range strings.Split(s, ";") {
		kv := strings.SplitN(item, "=", 2)
		if len(kv) != 2 || kv[0] == "" || kv[1] == "" {
			return nil, fmt.Errorf("CNI_ARGS entry %q is not KEY=VALUE", item)
		}
		out = append(out, [2]string{kv[0], kv[1]})
	}
	return out, nil
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func timeout() time.Duration {
	if v := os.Getenv("CNITOOL_TIMEOUT"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			return time.Duration(n) * time.Second
		}
	}
	return 100 * time.Second
}
