import {
  Catch,
  Controller,
  Injectable,
  UseFilters,
  UseGuards,
  UseInterceptors,
  UsePipes,
  ValidationPipe,
  StandardSchemaValidationPipe,
  type ArgumentsHost,
  type CallHandler,
  type CanActivate,
  type ExceptionFilter,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { Ctx, Payload, RpcException } from '@nestjs/microservices';
import { IsEmail, IsString } from 'class-validator';
import { lastValueFrom, map, throwError, type Observable } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SkipRetryError, TaskFailedError } from '../../lib/core/index.js';
import { TaskHandler, TaskqContext, TaskRecord } from '../../lib/nest/index.js';
import { backends } from '../helpers/taskq.js';
import { startHarness, type Harness } from './nest-harness.js';

const calls: Record<string, number> = {};
const count = (key: string) => {
  calls[key] = (calls[key] ?? 0) + 1;
};

@Injectable()
class TenantGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const ctx = context.switchToRpc().getContext<TaskqContext>();
    return ctx.getHeaders().tenant === 'acme';
  }
}

@Injectable()
class WrapInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const type = context.switchToRpc().getContext<TaskqContext>().getType();
    return next.handle().pipe(map((value) => ({ wrapped: value, type })));
  }
}

class OriginalError extends Error {
  constructor(readonly detail: string) {
    super(`original: ${detail}`);
  }
}

const filterSaw: unknown[] = [];
@Catch()
class RecordingFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): Observable<never> {
    filterSaw.push({ exception, taskId: host.switchToRpc().getContext<TaskqContext>().getTaskId() });
    return throwError(() => exception);
  }
}

@Catch(OriginalError)
class ToSkipRetryFilter implements ExceptionFilter {
  catch(exception: OriginalError): Observable<never> {
    return throwError(() => new SkipRetryError(`filtered: ${exception.detail}`));
  }
}

class SignupDto {
  @IsString()
  name!: string;
  @IsEmail()
  email!: string;
}

interface Issue {
  message: string;
  path?: PropertyKey[];
}
/** A minimal Standard Schema: { n: number }. */
const numberSchema = {
  '~standard': {
    version: 1 as const,
    vendor: 'test',
    validate: (value: unknown): { value: unknown } | { issues: Issue[] } =>
      typeof value === 'object' && value !== null && typeof (value as { n?: unknown }).n === 'number'
        ? { value }
        : { issues: [{ message: 'expected a number', path: ['n'] }] },
  },
};

@Controller()
class Enhanced {
  @TaskHandler('guarded')
  @UseGuards(TenantGuard)
  guarded(@Payload() p: string) {
    count('guarded');
    return `hello ${p}`;
  }

  @TaskHandler('intercepted')
  @UseInterceptors(WrapInterceptor)
  intercepted(@Payload() p: number) {
    return p * 2;
  }

  @TaskHandler('intercepted-fails')
  @UseInterceptors(WrapInterceptor)
  interceptedFails(@Ctx() ctx: TaskqContext) {
    count('intercepted-fails');
    if (ctx.getRetryCount() < 1) throw new Error('first attempt fails');
    return 'second attempt';
  }

  @TaskHandler('filtered')
  @UseFilters(RecordingFilter)
  filtered(@Payload() p: string) {
    count('filtered');
    throw new OriginalError(p);
  }

  @TaskHandler('filtered-skip')
  @UseFilters(ToSkipRetryFilter)
  filteredSkip(@Payload() p: string) {
    count('filtered-skip');
    throw new OriginalError(p);
  }

  @TaskHandler('signup')
  @UsePipes(new ValidationPipe({ transform: true }))
  signup(@Payload() dto: SignupDto) {
    count('signup');
    return `welcome ${dto.name} (${dto.constructor.name})`;
  }

  @TaskHandler('rpc-validation')
  @UsePipes(
    new ValidationPipe({
      exceptionFactory: (errors) => new RpcException(errors.flatMap((e) => Object.values(e.constraints ?? {}))),
    }),
  )
  rpcValidation(@Payload() dto: SignupDto) {
    count('rpc-validation');
    return dto.name;
  }

  @TaskHandler('schema')
  @UsePipes(new StandardSchemaValidationPipe())
  schema(@Payload({ schema: numberSchema }) p: { n: number }) {
    count('schema');
    return p.n + 1;
  }
}

describe.each(backends)('guards, interceptors, pipes and exception filters on @TaskHandler (%s)', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    // The handlers count their calls in module-level records: each backend starts from zero.
    for (const key of Object.keys(calls)) delete calls[key];
    filterSaw.length = 0;
    h = await startHarness('enhancers', [Enhanced], { providers: [TenantGuard, WrapInterceptor], backend });
  });
  afterAll(async () => {
    await h.close();
  });

  const failure = (type: string, data: unknown) =>
    lastValueFrom(h.client.send(type, data)).then(
      () => {
        throw new Error(`${type} should have failed`);
      },
      (e: unknown) => e as TaskFailedError,
    );

  it('a guard that lets the task through', async () => {
    const ok = await lastValueFrom(h.client.send('guarded', new TaskRecord('bob', { headers: { tenant: 'acme' } })));
    expect(ok).toBe('hello bob');
  });

  it('a guard rejecting a task archives it at once with lastError "Forbidden resource"', async () => {
    const before = calls.guarded ?? 0;
    const err = await failure('guarded', new TaskRecord('eve', { headers: { tenant: 'other' }, maxRetry: 5 }));
    expect(err).toBeInstanceOf(TaskFailedError);
    expect(err.message).toBe('Forbidden resource');
    const info = await h.client.unwrap().getTask(err.taskId);
    expect(info).toMatchObject({ state: 'archived', retried: 0, lastError: 'Forbidden resource' });
    expect(calls.guarded ?? 0).toBe(before);
  });

  it('an interceptor wraps the handler result', async () => {
    expect(await lastValueFrom(h.client.send('intercepted', 21))).toEqual({
      wrapped: 42,
      type: 'intercepted',
    });
  });

  it('an error under an interceptor still reaches the retry logic', async () => {
    expect(await lastValueFrom(h.client.send('intercepted-fails', {}))).toEqual({
      wrapped: 'second attempt',
      type: 'intercepted-fails',
    });
    expect(calls['intercepted-fails']).toBe(2);
  });

  it('an exception filter sees the original error, and the task keeps it as lastError and retries', async () => {
    const err = await failure('filtered', new TaskRecord('boom', { maxRetry: 1 }));
    expect(err.message).toBe('original: boom');
    const mine = filterSaw.filter((s) => (s as { taskId: string }).taskId === err.taskId);
    expect(mine).toHaveLength(2);
    expect((mine[0] as { exception: unknown }).exception).toBeInstanceOf(OriginalError);
    expect(await h.client.unwrap().getTask(err.taskId)).toMatchObject({ state: 'archived', retried: 1 });
  });

  it('a filter can turn an error into SkipRetryError (archived without retry)', async () => {
    const err = await failure('filtered-skip', new TaskRecord('x', { maxRetry: 5 }));
    expect(err.message).toBe('filtered: x');
    expect(calls['filtered-skip']).toBe(1);
  });

  it('a payload accepted by ValidationPipe reaches the handler as the DTO', async () => {
    expect(await lastValueFrom(h.client.send('signup', { name: 'Ann', email: 'ann@example.com' }))).toBe(
      'welcome Ann (SignupDto)',
    );
  });

  it('ValidationPipe rejection: archived at once, the pipe messages as lastError, never retried', async () => {
    const before = calls.signup ?? 0;
    const err = await failure('signup', new TaskRecord({ name: 42, email: 'nope' }, { maxRetry: 5 }));
    expect(err.message).toBe('name must be a string; email must be an email');
    expect(await h.client.unwrap().getTask(err.taskId)).toMatchObject({ state: 'archived', retried: 0 });
    expect(calls.signup ?? 0).toBe(before);
  });

  it('ValidationPipe with an RpcException factory: archived at once', async () => {
    const err = await failure('rpc-validation', new TaskRecord({ name: 1, email: 'a@b.co' }, { maxRetry: 5 }));
    expect(err.message).toBe('name must be a string');
    expect(await h.client.unwrap().getTask(err.taskId)).toMatchObject({ state: 'archived', retried: 0 });
  });

  it('Standard Schema @Payload({ schema }) rejection: archived at once with the issues', async () => {
    expect(await lastValueFrom(h.client.send('schema', { n: 1 }))).toBe(2);
    const err = await failure('schema', new TaskRecord({ n: 'one' }, { maxRetry: 5 }));
    expect(err.message).toBe('n: expected a number');
    expect(await h.client.unwrap().getTask(err.taskId)).toMatchObject({ state: 'archived', retried: 0 });
  });
});
