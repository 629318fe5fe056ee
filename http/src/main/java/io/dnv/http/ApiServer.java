package io.dnv.http;

import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.settings.ServerSettings;

import java.util.concurrent.CompletionStage;

/**
 * The API on a socket: every process that serves it binds it here, so they all serve it alike,
 * including the requests too malformed to reach a route ({@link ParsingProblems}).
 */
public final class ApiServer {

    private ApiServer() {}

    public static CompletionStage<ServerBinding> bind(ActorSystem<?> system, String host, int port, Api api) {
        ServerSettings settings = ServerSettings.create(system.classicSystem()).withParsingErrorHandler(ParsingProblems.class.getName());
        return Http.get(system).newServerAt(host, port).withSettings(settings).bind(api.routes());
    }
}
