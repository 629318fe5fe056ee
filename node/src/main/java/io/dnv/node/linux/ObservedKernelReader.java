package io.dnv.node.linux;

import io.dnv.core.kernel.AnaState;
import io.dnv.core.kernel.ObservedKernel;

import io.dnv.node.kernel.Kernel;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.stream.Collectors;

import static io.dnv.node.linux.Shell.q;

/**
 * Reads everything the agent needs from a Linux kernel in one script (one round trip: each
 * command costs tens of milliseconds in the VM) and parses its tagged lines into the
 * observed-kernel shape the simulator reports too.
 */
final class ObservedKernelReader {

    private ObservedKernelReader() {}

    /** A whole look: every dm device, the nvmet side and the host side. */
    static String script(List<String> disks) {
        return script(disks, Optional.empty(), """
                dmsetup info -c --noheadings --separator '|' -o name,major,minor,suspended,open 2>/dev/null | grep '|' | sed 's/^/I|/'
                dmsetup table 2>/dev/null | grep ': ' | sed 's/^/T|/'
                dmsetup status --noflush 2>/dev/null | grep ': ' | sed 's/^/S|/'
                """);
    }

    /**
     * A look at the dm devices of these names that exist, the subsystems of these NQNs (every one
     * when empty) and the host side whole ({@link Kernel#observe(Collection, Optional)}); at most
     * {@link Kernel#NAMES_PER_LOOK} names in all. The NQNs must have been checked as NQNs.
     */
    static String script(List<String> disks, Collection<String> dmNames, Optional<List<String>> subsystemNqns) {
        return script(disks, subsystemNqns, devices(dmNames));
    }

    /** The dm devices of these names that exist, and nothing else; at most {@link Kernel#NAMES_PER_LOOK} names. */
    static String devicesScript(Collection<String> dmNames) {
        return "export DM_DISABLE_UDEV=1\n" + devices(dmNames);
    }

    /**
     * dmsetup asks the kernel for the named devices alone, after one {@code dmsetup ls} (a single
     * ioctl) leaves out those that are gone. It stops at the first device it cannot read (one
     * removed since), and then the look fails ({@link #failed}). Given more than one device,
     * dmsetup prints each line of a table or status after the device's name, as it does for all;
     * given one, the script does. The names are bounded because the script is one argument of
     * {@code sh -c}, which Linux bounds at 128 KiB.
     */
    private static String devices(Collection<String> dmNames) {
        if (dmNames.size() > Kernel.NAMES_PER_LOOK) {
            throw new IllegalArgumentException(dmNames.size() + " dm devices named in one look, at most " + Kernel.NAMES_PER_LOOK);
        }
        if (dmNames.isEmpty()) {
            return "";
        }
        StringBuilder wanted = new StringBuilder();
        dmNames.forEach(n -> wanted.append(" -e ").append(q(n)));
        return """
                set -- $(dmsetup ls 2>/dev/null | cut -f1 | grep -Fx%s)
                if [ $# -gt 0 ]; then
                  i=$(dmsetup info -c --noheadings --separator '|' -o name,major,minor,suspended,open "$@" 2>/dev/null) || echo 'X|dmsetup info'
                  t=$(dmsetup table "$@" 2>/dev/null) || echo 'X|dmsetup table'
                  s=$(dmsetup status --noflush "$@" 2>/dev/null) || echo 'X|dmsetup status'
                  if [ $# -eq 1 ]; then t=$(printf '%%s\\n' "$t" | sed "s/^/$1: /"); s=$(printf '%%s\\n' "$s" | sed "s/^/$1: /"); fi
                  printf '%%s\\n' "$i" | grep '|' | sed 's/^/I|/'
                  printf '%%s\\n' "$t" | grep ': ' | sed 's/^/T|/'
                  printf '%%s\\n' "$s" | grep ': ' | sed 's/^/S|/'
                fi
                """.formatted(wanted);
    }

    private static String script(List<String> disks, Optional<List<String>> subsystemNqns, String dm) {
        String subsystems = subsystemNqns.map(n -> n.stream().map(nqn -> "$C/subsystems/" + q(nqn)).collect(Collectors.joining(" ")))
                .orElse("$C/subsystems/*");
        return "export DM_DISABLE_UDEV=1\nC=/sys/kernel/config/nvmet\n" + LINE + dm + """
                for p in $C/ports/*; do
                  [ -d "$p" ] || continue; id=${p##*/}
                  line "P|$id" $p/addr_trtype $p/addr_adrfam $p/addr_traddr $p/addr_trsvcid
                  for g in $p/ana_groups/*; do [ -d "$g" ] && line "G|$id|${g##*/}" $g/ana_state; done
                  for s in $p/subsystems/*; do [ -L "$s" ] && echo "L|$id|${s##*/}"; done
                done
                for s in %s; do
                  [ -d "$s" ] || continue; n=${s##*/}
                  line "U|$n" $s/attr_allow_any_host $s/attr_cntlid_min $s/attr_cntlid_max $s/attr_serial
                  for h in $s/allowed_hosts/*; do [ -L "$h" ] && echo "A|$n|${h##*/}"; done
                  for ns in $s/namespaces/*; do
                    [ -d "$ns" ] && line "N|$n|${ns##*/}" $ns/device_path $ns/device_uuid $ns/device_nguid $ns/ana_grpid $ns/enable
                  done
                done
                for h in $C/hosts/*; do [ -d "$h" ] && echo "H|${h##*/}"; done
                """.formatted(subsystems) + hostLines(disks);
    }

    /**
     * {@code line TAG FILE...} prints TAG, then the first line of each file ("" for one that is
     * gone), separated by '|', all in the script's one process: a node holds thousands of
     * subsystems and controllers, and a process per attribute read ({@code $(cat ...)}) cost 85 ms
     * a subsystem in the guest against 2 ms this way (kernel-rules.md, "A look at thousands of
     * objects"). One grep for all the files of an attribute was measured too, and was no faster.
     */
    private static final String LINE = """
            line() { o=$1; shift; for f; do v=; IFS= read -r v < "$f"; o="$o|$v"; done; echo "$o"; } 2>/dev/null
            """;

    /**
     * The host side alone: controllers, namespace heads and the disks, from sysfs, and which boot
     * of the machine this is. Nothing here
     * waits for I/O, so it answers while a thin pool's `dmsetup status` would not.
     */
    static String hostScript(List<String> disks) {
        return LINE + hostLines(disks);
    }

    private static String hostLines(List<String> disks) {
        StringBuilder sb = new StringBuilder(controllerLines("/sys/class/nvme/nvme*") + """
                line R /proc/sys/kernel/random/boot_id
                for b in /sys/block/nvme*n*; do
                  [ -e "$b" ] || continue; n=${b##*/}
                  case $n in *c*) continue ;; esac
                  line "B|/dev/$n" $b/dev $b/size $b/uuid
                done
                """);
        for (String disk : disks) {
            sb.append("d=$(readlink -f ").append(q(disk)).append("); n=${d##*/}; line ").append(q("D|" + disk))
                    .append(" /sys/class/block/$n/dev /sys/class/block/$n/size\n");
        }
        sb.append("true\n");
        return sb.toString();
    }

    /** The controllers of these names (nvmeX) that exist, in the lines {@link #hostScript} prints them in. */
    static String controllersScript(java.util.Collection<String> names) {
        StringBuilder paths = new StringBuilder();
        for (String n : names) {
            if (!n.matches("nvme[0-9]+")) {
                throw new IllegalArgumentException("not a controller name: " + n);
            }
            paths.append(" /sys/class/nvme/").append(n);
        }
        return LINE + controllerLines(paths.toString().strip()) + "true\n";
    }

    private static String controllerLines(String glob) {
        return """
                for c in %s; do
                  [ -e "$c" ] || continue
                  line "K|${c##*/}" $c/transport $c/address $c/subsysnqn $c/hostnqn $c/cntlid $c/state
                done
                """.formatted(glob);
    }

    /** What a {@link #script(List, Collection)} could not read, if anything: dmsetup failed for a device. */
    static Optional<String> failed(String out) {
        for (String line : out.split("\n")) {
            if (line.startsWith("X|")) {
                return Optional.of(line.substring(2).strip() + " failed");
            }
        }
        return Optional.empty();
    }

    /** The boot id a {@link #hostScript} printed ("" when it printed none). */
    static String bootId(String out) {
        for (String line : out.split("\n")) {
            if (line.startsWith("R|")) {
                return line.substring(2).strip();
            }
        }
        return "";
    }

    static ObservedKernel parse(String out) {
        Map<String, String[]> info = new LinkedHashMap<>();
        Map<String, StringBuilder> tables = new LinkedHashMap<>();
        Map<String, StringBuilder> statuses = new LinkedHashMap<>();
        List<ObservedKernel.BlockDevice> block = new ArrayList<>();
        Map<Integer, String[]> ports = new TreeMap<>();
        Map<Integer, Map<Integer, AnaState>> groups = new TreeMap<>();
        Map<Integer, List<String>> links = new TreeMap<>();
        Map<String, String[]> subsystems = new LinkedHashMap<>();
        Map<String, List<String>> allowed = new LinkedHashMap<>();
        Map<String, List<ObservedKernel.Namespace>> namespaces = new LinkedHashMap<>();
        List<String> hosts = new ArrayList<>();
        List<ObservedKernel.Controller> controllers = new ArrayList<>();
        for (String line : out.split("\n")) {
            if (line.length() < 2 || line.charAt(1) != '|') {
                continue;
            }
            String[] f = line.substring(2).split("\\|", -1);
            if (vanished(line.charAt(0), f)) {
                continue;
            }
            switch (line.charAt(0)) {
                case 'I' -> info.put(f[0], f);
                case 'T' -> append(tables, line.substring(2));
                case 'S' -> append(statuses, line.substring(2));
                case 'P' -> ports.put(Integer.parseInt(f[0]), f);
                case 'G' -> groups.computeIfAbsent(Integer.parseInt(f[0]), k -> new TreeMap<>())
                        .put(Integer.parseInt(f[1]), AnaState.fromConfigfs(f[2]));
                case 'L' -> links.computeIfAbsent(Integer.parseInt(f[0]), k -> new ArrayList<>()).add(f[1]);
                case 'U' -> subsystems.put(f[0], f);
                case 'A' -> allowed.computeIfAbsent(f[0], k -> new ArrayList<>()).add(f[1]);
                case 'N' -> namespaces.computeIfAbsent(f[0], k -> new ArrayList<>()).add(new ObservedKernel.Namespace(
                        Integer.parseInt(f[1]), f[2], UUID.fromString(f[3]), f[4].replace("-", ""), Integer.parseInt(f[5]),
                        f[6].equals("1")));
                case 'H' -> hosts.add(f[0]);
                case 'K' -> controllers.add(controller(f));
                case 'B' -> block.add(new ObservedKernel.BlockDevice(f[0], f[1], Long.parseLong(f[2]),
                        f[3].isEmpty() ? Optional.empty() : Optional.of(UUID.fromString(f[3]))));
                case 'D' -> block.add(new ObservedKernel.BlockDevice(f[0], f[1], Long.parseLong(f[2]), Optional.empty()));
                default -> { }
            }
        }
        List<ObservedKernel.Dm> dm = new ArrayList<>();
        info.forEach((name, f) -> dm.add(new ObservedKernel.Dm(name, f[1].trim() + ":" + f[2].trim(),
                text(tables.get(name)), text(statuses.get(name)), f[3].trim().equalsIgnoreCase("Suspended"),
                Integer.parseInt(f[4].trim()))));
        List<ObservedKernel.Port> portList = new ArrayList<>();
        ports.forEach((id, f) -> portList.add(new ObservedKernel.Port(id, f[1], f[2], f[3],
                f[4].isEmpty() ? 0 : Integer.parseInt(f[4]), groups.getOrDefault(id, Map.of()), links.getOrDefault(id, List.of()))));
        List<ObservedKernel.Subsystem> subsystemList = new ArrayList<>();
        subsystems.forEach((nqn, f) -> subsystemList.add(new ObservedKernel.Subsystem(nqn, f[1].equals("1"),
                allowed.getOrDefault(nqn, List.of()), Integer.parseInt(f[2]), Integer.parseInt(f[3]), f[4],
                namespaces.getOrDefault(nqn, List.of()))));
        return new ObservedKernel(dm, block, portList, subsystemList, hosts, controllers, bootId(out));
    }

    /**
     * An object removed while the script read it (the kernel's own work, or another command of
     * the node: the agent's lanes, its watchers) leaves its line with a file it could not read
     * empty: it is not there, as a look a moment later would show.
     */
    private static boolean vanished(char kind, String[] f) {
        return switch (kind) {
            case 'G' -> f.length < 3 || f[2].isEmpty();
            case 'U' -> f.length < 5 || f[2].isEmpty() || f[3].isEmpty();
            case 'N' -> f.length < 7 || f[3].isEmpty() || f[5].isEmpty();
            case 'B', 'D' -> f.length < 3 || f[1].isEmpty() || f[2].isEmpty();
            default -> false;
        };
    }

    /** sysfs address: "traddr=10.99.0.2,trsvcid=4420[,src_addr=...]". */
    private static ObservedKernel.Controller controller(String[] f) {
        Map<String, String> address = new TreeMap<>();
        for (String kv : f[2].split(",")) {
            int eq = kv.indexOf('=');
            if (eq > 0) {
                address.put(kv.substring(0, eq), kv.substring(eq + 1));
            }
        }
        return new ObservedKernel.Controller(f[0], f[1], address.getOrDefault("traddr", ""),
                Integer.parseInt(address.getOrDefault("trsvcid", "0")), f[3], f[4],
                f[5].isEmpty() ? 0 : Integer.parseInt(f[5]), f[6]);
    }

    /** "name: 0 2048 linear 254:1 0" lines, several per multi-target table. */
    private static void append(Map<String, StringBuilder> byName, String line) {
        int colon = line.indexOf(": ");
        String name = line.substring(0, colon);
        StringBuilder sb = byName.computeIfAbsent(name, k -> new StringBuilder());
        if (sb.length() > 0) {
            sb.append('\n');
        }
        sb.append(line.substring(colon + 2).trim());
    }

    private static String text(StringBuilder sb) {
        return sb == null ? "" : sb.toString();
    }
}
