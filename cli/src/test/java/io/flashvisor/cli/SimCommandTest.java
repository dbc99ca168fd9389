package io.flashvisor.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

class SimCommandTest {

    private record Run(int code, String out, String err) {
    }

    private static Run sim(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        String[] all = new String[args.length + 1];
        all[0] = "sim";
        System.arraycopy(args, 0, all, 1, args.length);
        int code = Main.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err)).execute(all);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void syntheticRunPrintsATableWithEveryPolicyAndSize() {
        Run r = sim("--synthetic", "zipf:theta=1.0,requests=50k,blocks=20k", "--policy", "lru,arc,s3-fifo,node:lru",
                "--size", "5%,20%", "--mrc", "--threads", "1");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("50,000 block accesses").contains("node:s3-fifo").contains("node:lru")
                .contains("LRU miss-ratio curve").contains("for 50 % hits");
        assertThat(r.out().lines().filter(l -> l.startsWith("arc ")).count()).isEqualTo(2);
    }

    @Test
    void jsonAndCsvAreMachineReadable() {
        Run json = sim("--synthetic", "scan:requests=20k,blocks=10k", "--policy", "fifo", "--size", "1M", "--json", "--mrc");
        assertThat(json.code()).as(json.err()).isZero();
        assertThat(json.out().strip()).startsWith("{\"trace\":").endsWith("}").contains("\"policy\":\"fifo\"")
                .contains("\"blocks\":256").contains("\"mrc\":{");
        Run csv = sim("--synthetic", "scan:requests=20k,blocks=10k", "--policy", "fifo,sieve", "--size", "10%", "--csv");
        assertThat(csv.code()).isZero();
        assertThat(csv.out().lines().toList()).hasSize(3);
        assertThat(csv.out()).startsWith("trace,policy,size,blocks");
    }

    @Test
    void badInputIsAUsageErrorThatSaysWhatToWrite() {
        assertThat(sim("--synthetic", "zipf", "--policy", "lfu").err()).contains("unknown policy 'lfu'").contains("node:s3-fifo");
        assertThat(sim("--synthetic", "zipf", "--size", "-3%").code()).isEqualTo(Main.EXIT_USAGE);
        assertThat(sim().err()).contains("give a TRACE file or --synthetic SPEC");
        assertThat(sim("--synthetic", "zipf", "--json", "--csv").code()).isEqualTo(Main.EXIT_USAGE);
        assertThat(sim("/nonexistent/trace.vscsi").err()).contains("cannot read trace file");
        assertThat(sim("--synthetic", "zipf:theta=x").err()).contains("theta=x");
    }
}
