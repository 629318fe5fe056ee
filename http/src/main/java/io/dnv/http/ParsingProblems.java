package io.dnv.http;

import org.apache.pekko.event.LoggingAdapter;
import org.apache.pekko.http.ParsingErrorHandler;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.scaladsl.model.ErrorInfo;
import org.apache.pekko.http.scaladsl.model.StatusCode;
import org.apache.pekko.http.scaladsl.settings.ServerSettings;

/**
 * The answer to a request pekko-http cannot even parse (a URI over its limit: 414, headers too
 * large: 431, a broken request line: 400). No route sees such a request, so the API's own
 * error handling cannot answer it; pekko-http asks this instead of answering text/plain.
 */
public final class ParsingProblems extends ParsingErrorHandler {

    @Override
    public HttpResponse handle(StatusCode status, ErrorInfo info, LoggingAdapter log, ServerSettings settings) {
        log.warning("Illegal request, responding with status '{}': {}", status, info.formatPretty());
        return Api.problem(Problem.of(status.intValue(), status.reason(), info.summary()));
    }
}
