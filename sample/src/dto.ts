import { IsEmail, IsInt, IsString, Max, Min, MinLength } from 'class-validator';

/** POST /signup body. */
export class SignupDto {
  @IsString()
  @MinLength(1)
  name!: string;

  @IsEmail()
  email!: string;
}

/** Payload of the `user:import` task, validated by ValidationPipe before the handler runs. */
export class ImportUserDto {
  @IsEmail()
  email!: string;

  @IsInt()
  @Min(0)
  @Max(150)
  age!: number;
}
