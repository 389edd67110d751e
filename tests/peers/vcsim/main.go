// vcsim for Shutter's tests: govmomi's vSphere simulator as a command.
//
// Debian ships govmomi's libraries (golang-github-vmware-govmomi-dev, 0.24)
// but not the vcsim command, so tests/peers/install builds this file offline:
//
//	GOPATH=DIR:/usr/share/gocode GO111MODULE=off GOPROXY=off go build main.go
//
// It serves a default vCenter model (simulator.VPX: 1 datacenter, 1 cluster
// of 3 hosts, 1 standalone host, 4 VMs, 1 datastore) over HTTPS with a
// self-signed certificate, at /sdk (SOAP).  When it is ready it prints the
// URL (without credentials) on stdout and, with -env, writes a GOVC_* env
// file.  SIGTERM or SIGINT stop it cleanly (exit 0); the datastore
// directories it makes under $TMPDIR are removed then.
//
// vcsim runs every task to its end within the call that starts it, so no
// task is ever seen `running`. To test that a wait for a task gives up at
// its deadline, the env file also names SHUTTER_VCSIM_HELD_TASK: a task
// made with the simulator's own CreateTask on the first VM and never run,
// so it stays `queued` (as a real vCenter task waiting for a busy host).
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

func main() {
	listen := flag.String("l", "127.0.0.1:8989", "listen address (port 0: any free port)")
	envFile := flag.String("env", "", "write GOVC_URL, GOVC_USERNAME, GOVC_PASSWORD, GOVC_INSECURE to this file")
	flag.Parse()

	model := simulator.VPX()
	if err := model.Create(); err != nil {
		log.Fatalf("vcsim: model.Create: %v", err)
	}

	model.Service.Listen = &url.URL{Host: *listen}
	model.Service.TLS = new(tls.Config)
	model.Service.RegisterEndpoints = true
	server := model.Service.NewServer()

	u := *server.URL
	user, pass := "", ""
	if u.User != nil {
		user = u.User.Username()
		pass, _ = u.User.Password()
	}
	u.User = nil

	held := heldTask()

	if *envFile != "" {
		env := fmt.Sprintf("GOVC_URL=%s\nGOVC_USERNAME=%s\nGOVC_PASSWORD=%s\nGOVC_INSECURE=1\nSHUTTER_VCSIM_HELD_TASK=%s\n", u.String(), user, pass, held)
		if err := os.WriteFile(*envFile, []byte(env), 0o600); err != nil {
			server.Close()
			model.Remove()
			log.Fatalf("vcsim: %v", err)
		}
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)

	fmt.Println(u.String())

	s := <-sig
	log.Printf("vcsim: %v, shutting down", s)
	server.Close()
	model.Remove()
}

// heldTask makes a task on the first VM that is never run: it stays queued.
func heldTask() string {
	vms := simulator.Map.All("VirtualMachine")
	if len(vms) == 0 {
		log.Fatalf("vcsim: the model has no VM")
	}
	task := simulator.CreateTask(vms[0], "shutterHeldTask", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		return nil, nil
	})
	return task.Self.Value
}
