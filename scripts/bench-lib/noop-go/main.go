// Command noop is a CNI plugin that does nothing: ADD answers its prevResult (or an empty result),
// every other verb succeeds silently. The bench chains two of them to measure what a two-plugin
// chain costs through libcni before any work, for Go; noop.ts is the same plugin for our runtime.
package main

import (
	"encoding/json"
	"io"
	"os"
)

func main() {
	in, _ := io.ReadAll(os.Stdin)
	var conf map[string]interface{}
	_ = json.Unmarshal(in, &conf)
	switch os.Getenv("CNI_COMMAND") {
	case "VERSION":
		os.Stdout.WriteString(`{"cniVersion":"1.0.0","supportedVersions":["0.3.1","0.4.0","1.0.0"]}` + "\n")
	case "ADD":
		out, ok := conf["prevResult"]
		if !ok {
			out = map[string]interface{}{"cniVersion": conf["cniVersion"], "interfaces": []interface{}{}, "ips": []interface{}{}, "dns": map[string]interface{}{}}
		} else {
			out.(map[string]interface{})["cniVersion"] = conf["cniVersion"]
		}
		b, _ := json.Marshal(out)
		os.Stdout.Write(append(b, '\n'))
	}
}
