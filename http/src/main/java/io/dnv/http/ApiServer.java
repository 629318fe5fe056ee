package io.dnv.http;

import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;

import java.util.concurrent.CompletionStage;

/** The API on a socket: every process that serves it binds it here, so they all serve it alike. */
public final class ApiServer {

    private ApiServer() {}

    public static CompletionStage<ServerBinding> bind(ActorSystem<?> system, String host, int port, Api api) {
        return Http.get(system).newServerAt(host, port).bind(api.routes());
    }
}
