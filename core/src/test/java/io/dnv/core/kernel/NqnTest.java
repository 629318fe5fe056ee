package io.dnv.core.kernel;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NqnTest {

    @Test
    void takesBothFormsOfTheSpec() {
        for (String nqn : List.of("nqn.2014-08.org.nvmexpress:uuid:1f7e0c55-3b7d-4d5e-8f22-9a0b1c2d3e4f",
                "nqn.2014-08.org.nvmexpress:uuid:1F7E0C55-3B7D-4D5E-8F22-9A0B1C2D3E4F",
                "nqn.2024-01.io.dnv:vol:v1", "nqn.2024-01.io.dnv:ld:v:0:0:1:n1", "nqn.1992-05.com.example:host.rack-1~a=b",
                "nqn.2024-01.io.dnv:" + "x".repeat(Nqn.MAX_BYTES - 19))) {
            assertTrue(Nqn.valid(nqn), nqn);
        }
    }

    @Test
    void refusesWhatIsNotAnNqnOrCannotBeAConfigfsNameOrAFabricsOption() {
        for (String nqn : List.of("", "nqn", "nqn.2024-01.io.dnv", "nqn.2024-01.io.dnv:", "nqn.24-01.io.dnv:x", "nqn.2024-13.io.dnv:x",
                "nqn.2024-01.IO.dnv:x", "nqn.2024-01.:x", "iqn.2024-01.io.dnv:x",
                "nqn.2014-08.org.nvmexpress.discovery",
                "nqn.2014-08.org.nvmexpress:uuid:not-a-uuid", "nqn.2014-08.org.nvmexpress:uuid:1f7e0c55-3b7d-4d5e-8f22-9a0b1c2d3e4",
                "nqn.2014-08.org.nvmexpress:uuid:1f7e0c553b7d4d5e8f229a0b1c2d3e4f", "nqn.2014-08.org.nvmexpress:uuid:",
                "nqn.2024-01.a:x/../../../tmp/p", "nqn.2024-01.a:x,hostnqn=y", "nqn.2024-01.a:x y", "nqn.2024-01.a:x\n",
                "nqn.2024-01.a:x\u0000", "nqn.2024-01.a:v\u00f6l", "nqn.2024-01.io.dnv:" + "x".repeat(Nqn.MAX_BYTES - 18))) {
            assertFalse(Nqn.valid(nqn), nqn);
        }
        assertFalse(Nqn.valid(null));
    }
}
