package io.flashvisor.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

class ServeCommandTest {

    @Test
    void defaultExportNameComesFromTheBackingStore() {
        assertThat(ServeCommand.defaultName("/images/vm1.img")).isEqualTo("vm1");
        assertThat(ServeCommand.defaultName("disk")).isEqualTo("disk");
        assertThat(ServeCommand.defaultName("file:///images/vm2.qcow.raw")).isEqualTo("vm2.qcow");
        assertThat(ServeCommand.defaultName("nbd://san:10809/lun7")).isEqualTo("lun7");
        assertThat(ServeCommand.defaultName("nbd+unix:///lun.8?socket=/run/s.sock")).isEqualTo("lun.8");
        assertThat(ServeCommand.defaultName("nbd+unix:///?socket=/run/s.sock")).isEqualTo("disk");
    }

    @Test
    void plaintextTcpMustBeAnExplicitChoice() {
        StringWriter err = new StringWriter();
        int code = Main.commandLine().setErr(new PrintWriter(err)).execute("serve", "/tmp/x.img", "--listen", "127.0.0.1:0");
        assertThat(code).isEqualTo(Main.EXIT_USAGE);
        assertThat(err.toString()).contains("--listen needs TLS").contains("--insecure");
    }

    @Test
    void badListenAddressIsAUsageError() {
        StringWriter err = new StringWriter();
        int code = Main.commandLine().setErr(new PrintWriter(err)).execute("serve", "/tmp/x.img", "--listen", "nohost", "--insecure");
        assertThat(code).isEqualTo(Main.EXIT_USAGE);
        assertThat(err.toString()).contains("'nohost' is not HOST:PORT");
    }
}
