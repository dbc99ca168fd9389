package io.flashvisor.cli.demo;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The programs the cluster demo runs, and what to install when one is missing. */
public final class Prerequisites {
    public static final String INSTALL = "sudo apt-get install -y fio nbdkit libnbd-bin qemu-utils";

    private Prerequisites() {
    }

    /** One line per missing program or feature; empty when everything is there. */
    public static List<String> missing() {
        List<String> missing = new ArrayList<>();
        Run fio = run("fio", "--version");
        if (fio.exit != 0) {
            missing.add("fio (the load generator): " + fio.why());
        } else {
            Run nbd = run("fio", "--enghelp=nbd");
            if (nbd.exit != 0 || !nbd.output.contains("uri")) {
                missing.add("fio's nbd engine (this fio, " + fio.output.strip() + ", was built without libnbd)");
            }
        }
        Run nbdkit = run("nbdkit", "--version");
        if (nbdkit.exit != 0) {
            missing.add("nbdkit (plays the slow SAN): " + nbdkit.why());
        } else {
            Run delay = run("nbdkit", "--filter=delay", "file", "--dump-plugin");
            if (delay.exit != 0) {
                missing.add("nbdkit's file plugin with its delay filter: " + delay.output.strip());
            }
        }
        return missing;
    }

    /** The message for {@link #missing()}'s list. */
    public static String message(List<String> missing) {
        StringBuilder sb = new StringBuilder("the cluster demo needs programs that are not installed:\n");
        for (String m : missing) {
            sb.append("  - ").append(m).append('\n');
        }
        sb.append("On Debian or Ubuntu install them with:\n  ").append(INSTALL).append('\n');
        sb.append("(or run 'flashvisor demo --single', which needs none of them)");
        return sb.toString();
    }

    /** The first line of {@code program --version}, or "?" (for the report header). */
    static String version(String... command) {
        Run r = run(command);
        return r.exit == 0 ? r.output.lines().findFirst().orElse("?").strip() : "?";
    }

    private record Run(int exit, String output) {
        String why() {
            return exit == 127 ? "not found" : output.strip();
        }
    }

    private static Run run(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Run(124, "timed out");
            }
            return new Run(p.exitValue(), new String(out, StandardCharsets.UTF_8));
        } catch (IOException e) {
            return new Run(127, "not found on PATH");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Run(130, "interrupted");
        }
    }
}
